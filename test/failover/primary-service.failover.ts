import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { movePrimary } from '../../src/reconcile/role-writes';
import { primaryMove } from '../../src/reconcile/roles';
import { selectorLabels } from '../../src/render/instance';
import { SENTINEL_PORT } from '../../src/render/sentinel';
import { requireProgram } from '../support/programs';
import { redisBinaries } from '../support/redis/binaries';
import { cleanupClusters, createCluster, type FailoverCluster } from '../support/netns/cluster';
import { connectPodApi, type PodApi } from '../support/netns/kube';
import { ServiceClient } from '../support/netns/service';
import { failoverInstance, failoverPodSource, testInstance } from '../support/netns/source';
import type { FailoverPodSource } from '../support/netns/seam';
import {
  countPresent, eventually, killPrimaryUnderWrites, masters, podInfo, settled, startWriter, watchKeyCounts,
} from '../support/netns/workload';

/**
 * `<name>-primary` with real processes: the pods of test/failover/failover.failover.ts plus
 * their role agents (this checkout's `redis-gitops role-agent`, in each pod's network
 * namespace) against a test API server on the host end of the pod network
 * (test/support/netns/kube.ts). Clients write as kube-proxy routes: to the Ready pods the
 * Service's selector matches (test/support/netns/service.ts). down-after-milliseconds 2000
 * and agent intervals of 100/200 ms keep the runs short; the bench measures the defaults.
 */

beforeAll(() => { redisBinaries(); requireProgram('redis-sentinel'); requireProgram('ip', '/usr/sbin:/usr/bin:/sbin:/bin'); });
afterEach(cleanupClusters);

const IMAGE = 'redis:7.0.15';
const FAST_SYNC = { 'repl-diskless-sync-delay': '0' };
const AGENT_ARGS = ['--poll-interval', '100', '--pod-interval', '200'];

async function startWithAgents(source: FailoverPodSource): Promise<{ cluster: FailoverCluster; api: PodApi }> {
  const cluster = createCluster(source);
  const api = await connectPodApi(cluster, { agentArgs: AGENT_ARGS });
  await cluster.startAll();
  api.syncReady();
  return { cluster, api };
}

const labelsAre = (api: PodApi, expected: Array<string | undefined>) => async () => JSON.stringify(api.roleLabels()) === JSON.stringify(expected);

describe('<name>-primary follows the primary (role agents, test API server)', () => {
  it('kill -9 of the primary: the role labels and <name>-primary move to the promoted replica; writes through it resume; none acknowledged is lost', async () => {
    const { cluster, api } = await startWithAgents(failoverPodSource(failoverInstance({ image: IMAGE, replicas: 3, config: FAST_SYNC }, { downAfterMilliseconds: 2000 }), { roleAgent: true }));
    const first = await settled(cluster);
    await eventually('the first labels', labelsAre(api, ['primary', 'replica', 'replica']), 30_000, () => cluster.quietLogs());
    expect(api.endpoints()).toEqual([first]);

    const service = new ServiceClient(api);
    const { report, serviceReport, primary, lost } = await killPrimaryUnderWrites(cluster, { writes: 100, prefix: 'k', timeoutMs: 30_000, service });
    expect(primary).not.toBe(first);
    // The killed pod keeps its label (its agent died with it) but is not Ready: one endpoint.
    const expected = cluster.pods.map((p) => (p === primary || p === first ? 'primary' : 'replica'));
    await eventually('the promoted replica labelled primary', labelsAre(api, expected), 10_000);
    expect(api.endpoints()).toEqual([primary]);
    console.log(`<name>-primary through kill -9: first write ${serviceReport!.firstWriteAfterMarkMs} ms after the kill `
      + `(Sentinel client: ${report.firstWriteAfterMarkMs} ms); ${serviceReport!.acknowledged.length} acknowledged, ${lost} lost`);
    expect(lost).toBe(0);

    // The old pod comes back: its agent labels it replica; <name>-primary still selects only the new primary.
    await first.start({ newIp: true });
    await settled(cluster);
    await eventually('the old primary labelled replica', labelsAre(api, cluster.pods.map((p) => (p === primary ? 'primary' : 'replica'))), 10_000);
    expect(api.endpoints()).toEqual([primary]);
    expect(await masters(cluster)).toEqual([primary.ordinal]);
    service.disconnect();
  }, 120_000);
});

describe('scale-down from 3 to 2 (failover turns off) while the primary is pod 2', () => {
  it('the reconciler moves the primary to pod 0 first, pod 2 goes, pods 1 and 0 roll to the non-failover template: no acknowledged write lost, no node loses keys, pod 0 the only primary', async () => {
    const three = failoverInstance({ image: IMAGE, replicas: 3, config: FAST_SYNC }, { downAfterMilliseconds: 2000 });
    const two = testInstance({ image: IMAGE, replicas: 2, config: FAST_SYNC });
    expect(two.spec.failover).toBeUndefined();
    const oldSource = failoverPodSource(three, { roleAgent: true });
    const newSource = failoverPodSource(two);
    const { cluster, api } = await startWithAgents(oldSource);
    const [pod0, pod1, pod2] = cluster.pods;
    await settled(cluster);

    // Put the primary on pod 2: pod 1 less preferred for a moment (the promotion guard only lifts 0), one SENTINEL FAILOVER.
    const direct1 = await cluster.direct(pod1);
    await direct1.config('SET', 'replica-priority', '200');
    const sentinel0 = await cluster.direct(pod0, SENTINEL_PORT);
    // Sentinel reads the replicas' priorities from INFO every 10 s: wait until it sees both.
    await eventually('Sentinel sees the priorities', async () => {
      const rows = (await sentinel0.call('SENTINEL', 'REPLICAS', cluster.instance)) as string[][];
      const priority = (pod: typeof pod1) => { const r = rows.find((x) => x[x.indexOf('ip') + 1] === pod.dnsName); return r?.[r.indexOf('slave-priority') + 1]; };
      return priority(pod1) === '200' && priority(pod2) === '100';
    }, 20_000);
    expect(await sentinel0.call('SENTINEL', 'FAILOVER', cluster.instance)).toBe('OK');
    await eventually('pod 2 primary', async () => (await settled(cluster, 5_000)) === pod2, 30_000, () => cluster.quietLogs());
    // (Sentinel's reconfiguration closed the earlier connection.)
    await (await cluster.direct(pod1)).config('SET', 'replica-priority', '100');
    await eventually('pod 2 labelled primary', labelsAre(api, ['replica', 'replica', 'primary']), 10_000, () => cluster.quietLogs());

    const keyCounts = watchKeyCounts(cluster);
    const service = new ServiceClient(api);
    const writer = startWriter(service, 'w');
    await eventually('writes before the scale-down', async () => writer.acknowledgedCount >= 100);

    // The reconciler's passes (its own primaryMove and movePrimary): the primary must be on
    // pod 0 (failover turns off), through the failover-requested annotation that the real
    // role agents answer; a pass asks again while the primary is not there.
    const kube = api.client();
    const selector = Object.entries(selectorLabels(cluster.instance)).map(([k, v]) => `${k}=${v}`).join(',');
    const requests: string[] = [];
    const listPods = async () => { api.syncReady(); return kube.list<V1Pod>('Pod', pod0.namespace, selector); };
    for (;;) {
      if (!primaryMove(two, oldSource.statefulSet, await listPods())) break;
      if (requests.length >= 6) throw new Error(`the primary did not reach pod 0 after requests on ${requests.join(', ')}\n${cluster.quietLogs()}`);
      // In production a request comes a pass after the last failover (and after the >= 30 s
      // the reconciler waited for it): the Sentinels agree on its outcome by then.
      await settled(cluster, 30_000, { sentinelViews: true });
      const pods = await listPods();
      const move = primaryMove(two, oldSource.statefulSet, pods);
      if (!move) break;
      requests.push(move.pod);
      await movePrimary(kube, two, move, pods, { waitMs: 20_000, pollMs: 200, retryAfterMs: 10_000 });
    }
    const answers = cluster.pods.flatMap((p) => p.logs('role-agent').split('\n').filter((l) => l.includes('"failover-requested"')));
    // One request: the agent steers Sentinel to an ordinal below 1 (without, the run IDs pick
    // pod 1 from pod 2 and pod 2 from pod 1, every time).
    expect(requests).toEqual([pod2.name]);
    expect(answers.length).toBe(1);
    for (const answer of answers) expect(JSON.parse(answer).sentinel).toMatch(/^OK: cache-\d\.cache\.test\.svc is the primary now$/);
    expect(api.roleLabels()).toEqual(['primary', 'replica', 'replica']);
    // (Pod 2's Redis may still say master, with writes paused, until Sentinel demotes it
    // seconds later: the reconciler goes on once the label moved, and so does this test.)
    const movedAt = writer.acknowledgedCount;
    await eventually('writes after the move', async () => writer.acknowledgedCount >= movedAt + 50, 20_000);

    // Then replicas 2 and the non-failover template (and <name>-primary's selector, pod 0).
    api.applyPrimaryService(newSource.primaryService!);
    // The StatefulSet controller: pod 2 goes (scale-down), then pods 1 and 0 roll, highest first.
    await pod2.stop();
    api.deletePod(pod2);
    const preStops: Record<string, string> = {};
    for (const pod of [pod1, pod0]) {
      preStops[pod.name] = (await pod.stop())?.stderr ?? '';
      api.recreatePod(pod, newSource);
      await pod.start({ source: newSource });
      api.syncReady();
      // Ready: the readiness probe's condition (a primary, or a replica with its link up).
      await eventually(`${pod.name} ready`, async () => {
        const info = await podInfo(cluster, pod, 'replication');
        return info.role === 'master' || info.master_link_status === 'up';
      }, 30_000, () => cluster.quietLogs());
    }
    const rolledAt = writer.acknowledgedCount;
    await eventually('writes after the rollout', async () => writer.acknowledgedCount >= rolledAt + 100, 30_000, () => cluster.quietLogs());
    const report = await writer.stop();
    service.disconnect();
    await eventually('pod 1 replicates pod 0', async () => {
      const info = await podInfo(cluster, pod1, 'replication');
      return info.master_host === pod0.dnsName && info.master_link_status === 'up';
    }, 20_000);
    const counts = await keyCounts.stop();
    console.log(`scale-down 3 -> 2 under a WAIT 1 writer through <name>-primary: failover requests on ${requests.join(', ')}; `
      + `${report.acknowledged.length} acknowledged, ${report.failed} failed, longest gap ${report.longestGapMs} ms; `
      + `old pod 0 preStop: ${JSON.stringify(preStops[pod0.name].trim())}`);

    // The old pod 0 still ran the failover template: its preStop found no other pod's
    // Sentinel (pod 2 gone, pod 1 on the new template), so it could not promote pod 1.
    expect(preStops[pod0.name]).toContain('preStop: no Sentinel accepted SENTINEL FAILOVER cache; writes resumed');
    expect(await masters(cluster)).toEqual([0]);
    for (const pod of [pod0, pod1]) {
      await eventually(`${pod.name} holds every acknowledged write`, async () => await countPresent(cluster, pod, report.acknowledged) === report.acknowledged.length, 10_000);
    }
    expect(counts.drops).toEqual([]);
    expect(counts.samples).toBeGreaterThan(50);
  }, 180_000);
});
