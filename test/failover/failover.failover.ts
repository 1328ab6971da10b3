import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisBinaries } from '../support/redis/binaries';
import { requireProgram } from '../support/programs';
import { secretsFor } from '../support/redis/seam';
import { SENTINEL_PORT } from '../../src/render/sentinel';
import { cleanupClusters, createCluster, type FailoverCluster } from '../support/netns/cluster';
import { failoverInstance, failoverPodSource } from '../support/netns/source';
import {
  failOverAndRejoin, keys, snapshot,
  countPresent, eventually, masters, podInfo, settled, startWriter, writeConfirmed,
  killPrimaryUnderWrites,
} from '../support/netns/workload';

/**
 * Failover with real processes: every pod (init containers, redis-server, redis-sentinel,
 * the preStop hook) runs the rendered scripts unmodified in its own network namespace, on
 * ports 6379 and 26379, and the pods find each other by their stable DNS names
 * (test/support/netns). down-after-milliseconds is 2000 here to keep the run short; the
 * bench measures the defaults.
 */

beforeAll(() => { redisBinaries(); requireProgram('redis-sentinel'); requireProgram('ip', '/usr/sbin:/usr/bin:/sbin:/bin'); });
afterEach(cleanupClusters);

const FAST_SYNC = { 'repl-diskless-sync-delay': '0' };

async function startCluster(options: { readonly password?: string; readonly shell?: 'sh' | 'busybox' } = {}): Promise<FailoverCluster> {
  const source = failoverPodSource(failoverInstance({
    image: 'redis:7.0.15', replicas: 3, config: FAST_SYNC,
    ...(options.password !== undefined ? { auth: { secretName: 'cache-auth' } } : {}),
  }, { downAfterMilliseconds: 2000 }));
  const cluster = createCluster(source, {
    ...(options.password !== undefined ? { secrets: secretsFor(source.statefulSet, options.password), password: options.password } : {}),
    ...(options.shell ? { shell: options.shell } : {}),
  });
  await cluster.startAll();
  return cluster;
}

describe('failover (3 pods, Sentinel)', () => {
  it('first creation: pod 0 is primary; kill -9 of the primary promotes a replica, writes resume through Sentinel, one primary; the old primary rejoins as a replica', async () => {
    const cluster = await startCluster();
    const first = await settled(cluster);
    expect(first.ordinal).toBe(0);
    const client = cluster.sentinelClient();
    await writeConfirmed(client, 'before', 200);

    // The old primary comes back (a new pod: new IP, Sentinel state gone): a replica of the new one.
    const { promoted, acknowledged } = await failOverAndRejoin(cluster, first, client, 'writes through Sentinel after the kill');
    expect(promoted.ordinal).not.toBe(0);
    const report = { acknowledged };
    const info = await podInfo(cluster, first, 'replication');
    expect([info.role, info.master_host]).toEqual(['slave', promoted.dnsName]);
    expect(await masters(cluster)).toEqual([promoted.ordinal]);
    for (const pod of cluster.pods) {
      expect(await countPresent(cluster, pod, [...keys('before', 200), ...report.acknowledged])).toBe(200 + report.acknowledged.length);
    }
    // Names, not IPs: the pod that came back with a new IP is the same replica and the same
    // Sentinel to every Sentinel, with no stale entry left behind.
    for (const pod of cluster.pods) {
      const sentinel = await cluster.direct(pod, SENTINEL_PORT);
      const ips = (rows: string[][]) => rows.map((r) => r[r.indexOf('ip') + 1]).sort();
      expect(ips(await sentinel.call('SENTINEL', 'replicas', 'cache') as string[][]))
        .toEqual(cluster.pods.filter((p) => p !== promoted).map((p) => p.dnsName).sort());
      expect(ips(await sentinel.call('SENTINEL', 'sentinels', 'cache') as string[][]))
        .toEqual(cluster.pods.filter((p) => p !== pod).map((p) => p.dnsName).sort());
      sentinel.disconnect();
    }
  }, 90_000);

  it('the primary loses its data and restarts before Sentinel noticed: it waits for the failover, then replicates; no key is lost', async () => {
    const cluster = await startCluster();
    const first = await settled(cluster);
    const client = cluster.sentinelClient();
    await writeConfirmed(client, 'k', 500);
    await cluster.within(5_000, 'replicas catch up', eventually('replicas hold every key', async () => {
      for (const pod of cluster.pods) if (await countPresent(cluster, pod, keys('k', 500)) !== 500) return false;
      return true;
    }));

    await first.kill();
    first.wipeData();
    // At once: the Sentinels still name it primary (down-after has not passed).
    await first.start();
    const start = first.logs('start-up');
    expect(start).toContain('the Sentinels name this pod (0 keys) as primary: waiting for their failover');
    const promoted = await settled(cluster);
    expect(promoted).not.toBe(first);
    expect(start).toContain(`starting as a replica of ${promoted.dnsName}`);
    expect(await masters(cluster)).toEqual([promoted.ordinal]);
    for (const pod of cluster.pods) expect(await countPresent(cluster, pod, keys('k', 500))).toBe(500);
    // The node that started empty runs with replica-priority 0 until its first sync is done.
    await eventually('the guard restores replica-priority', async () => first.logs('sentinel').includes('first sync complete: replica-priority 100'));
    expect((await podInfo(cluster, first, 'replication')).slave_priority).toBe('100');
  }, 90_000);

  it('every pod stops, Sentinel state is lost and pod 0 (the primary) lost its data: the node with the data becomes primary, no key is lost', async () => {
    const cluster = await startCluster();
    const first = await settled(cluster);
    expect(first.ordinal).toBe(0);
    const client = cluster.sentinelClient();
    await writeConfirmed(client, 'k', 300);
    await cluster.within(5_000, 'replicas catch up', eventually('replicas hold every key', async () => {
      for (const pod of cluster.pods) if (await countPresent(cluster, pod, keys('k', 300)) !== 300) return false;
      return true;
    }));
    client.disconnect();
    await Promise.all(cluster.pods.map((p) => p.stop({ preStop: false })));
    cluster.pods[0].wipeData();

    await cluster.startAll();
    const primary = await settled(cluster);
    // Pods 1 and 2 hold the same 300 keys (AOF keeps no offset): the lower ordinal wins.
    expect(primary.ordinal).toBe(1);
    // Each node either saw the whole election or a peer already following its winner.
    const startUps = cluster.pods.map((p) => p.logs('start-up'));
    expect(startUps.join('\n')).toContain('election: 0[offset 0, keys 0] 1[offset 0, keys 300] 2[offset 0, keys 300] -> cache-1');
    expect(startUps.map((l) => /starting as (primary|a replica of \S+)/.exec(l)?.[0]))
      .toEqual(['starting as a replica of cache-1.cache.test.svc', 'starting as primary', 'starting as a replica of cache-1.cache.test.svc']);
    for (const pod of cluster.pods) expect(await countPresent(cluster, pod, keys('k', 300))).toBe(300);
  }, 90_000);

  it('a replica with data never full-syncs from a primary that holds no keys: it waits, saying why, and its data is untouched', async () => {
    const cluster = await startCluster();
    const primary = await settled(cluster);
    const client = cluster.sentinelClient();
    await writeConfirmed(client, 'k', 100);
    const replica = cluster.pods.find((p) => p !== primary)!;
    await cluster.within(5_000, 'the replica catches up', eventually('100 keys on the replica', async () => await countPresent(cluster, replica, keys('k', 100)) === 100));
    await replica.stop({ preStop: false });
    const files = snapshot(replica.dataDir);
    await client.flushall();

    const starting = replica.start().catch((e: Error) => e);
    await eventually('the refusal', async () => replica.logs('start-up').includes(
      `refusing to replicate from ${primary.dnsName}: it holds no keys and this node holds 100 keys; a full sync would delete them`,
    ), 20_000, () => cluster.quietLogs());
    await replica.kill();
    expect(await starting).toBeInstanceOf(Error);
    expect(snapshot(replica.dataDir)).toEqual(files);
  }, 90_000);

  it('with spec.auth and busybox ash (the Alpine images): Sentinel authenticates, kill -9 fails over, writes resume', async () => {
    const password = 'pa ss"word\\';
    const cluster = await startCluster({ password, shell: 'busybox' });
    const first = await settled(cluster);
    const client = cluster.sentinelClient();
    await writeConfirmed(client, 'a', 50);
    await first.kill();
    await eventually('writes through Sentinel after the kill', async () => { await writeConfirmed(client, 'b', 50); return true; }, 30_000);
    const promoted = await settled(cluster);
    expect(promoted).not.toBe(first);
    expect(await countPresent(cluster, promoted, [...keys('a', 50), ...keys('b', 50)])).toBe(100);
  }, 90_000);

  it('a writer confirming each write with WAIT 1 through kill -9 of the primary: every acknowledged write survives', async () => {
    const cluster = await startCluster();
    const { report, lost } = await killPrimaryUnderWrites(cluster, { writes: 300, prefix: 'w', timeoutMs: 30_000 });
    const present = report.acknowledged.length - lost;
    console.log(`WAIT 1 writer through kill -9: ${report.acknowledged.length} acknowledged, ${lost} lost, `
      + `${report.failed} failed, first write ${report.firstWriteAfterMarkMs} ms after the kill`);
    expect(present).toBe(report.acknowledged.length);
  }, 90_000);

  it('a rolling restart in StatefulSet order (highest ordinal first) with preStop: the primary moves before its pod stops; no accepted write is lost', async () => {
    const cluster = await startCluster();
    await settled(cluster);
    // Plain SETs: a planned rollout must lose no write the primary accepted.
    const writer = startWriter(cluster.sentinelClient(), 'r', { waitMs: null });
    await eventually('writes before the rollout', async () => writer.acknowledgedCount >= 100);
    const preStops: string[] = [];
    for (const pod of [...cluster.pods].reverse()) {
      const wasPrimary = (await masters(cluster))[0] === pod.ordinal;
      const result = await pod.stop();
      if (wasPrimary) preStops.push(result?.stderr ?? '');
      await pod.start();
      await settled(cluster);
    }
    const after = writer.acknowledgedCount;
    await eventually('writes after the rollout', async () => writer.acknowledgedCount >= after + 100);
    const report = await writer.stop();
    const primary = await settled(cluster);
    console.log(`rolling restart: ${report.acknowledged.length} acknowledged, ${report.failed} failed, longest write gap ${report.longestGapMs} ms`);
    expect(preStops.length).toBeGreaterThan(0);
    for (const text of preStops) expect(text).toMatch(/preStop: cache-\d\.cache\.test\.svc is the primary now; stopping/);
    expect(await countPresent(cluster, primary, report.acknowledged)).toBe(report.acknowledged.length);
    expect(await masters(cluster)).toEqual([primary.ordinal]);
  }, 120_000);

  it('a replica stopped while Redis writes its initial AOF shuts down on the SIGTERM: the preStop waits for the rewrite', async () => {
    // Redis refuses a SIGTERM then ("Writing initial AOF, can't exit") and would run on until
    // the kubelet's SIGKILL at the end of the grace period. A replica writes its initial AOF
    // just after every full sync; here the same state is made on purpose, and slow: AOF
    // turned off and on again with a per-key delay (a test-only knob of Redis) over 1,000 keys.
    const cluster = await startCluster();
    const primary = await settled(cluster);
    const writer = await cluster.direct(primary);
    for (let i = 0; i < 1000; i++) await writer.set(`k${i}`, 'v');
    expect(await writer.wait(2, 5_000)).toBe(2);
    const replica = cluster.pods.find((p) => p !== primary)!;
    const local = await cluster.direct(replica);
    await local.config('SET', 'appendonly', 'no');
    await local.config('SET', 'rdb-key-save-delay', '2000');
    await local.config('SET', 'appendonly', 'yes');
    expect((await podInfo(cluster, replica, 'persistence')).aof_rewrite_in_progress).toBe('1');
    local.disconnect();
    await replica.stop();
    const log = replica.logs('redis');
    expect(log).not.toContain("Writing initial AOF, can't exit");
    expect(log).toContain('Background AOF rewrite finished successfully');
    expect(log).toContain('Redis is now ready to exit');
  }, 90_000);
});
