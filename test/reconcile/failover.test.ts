/**
 * The reconciler with failover instances, against the test API server: the move of the
 * primary before a scale-down, and the migration of an instance created before failover
 * existed (fixed pod 0) through the normal path: orphan recreate, then a rolling update.
 * The role agents are simulated by the test (it labels pods as they would): what is under
 * test is what the reconciler writes and when.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateRedisInstance } from '../../src/api/validate';
import { FAILOVER_REQUESTED_ANNOTATION, ROLE_LABEL, renderInstance } from '../../src/render/instance';
import { KubeClient, loadKubeConfig } from '../../src/reconcile/kube';
import { runPass } from '../../src/reconcile/run';
import { matchesLabelSelector } from '../support/apiserver/selectors';
import { podUids, startHarness, type Harness } from './harness';

let h: Harness;
let kubeconfig: string;
beforeEach(async () => {
  h = await startHarness({ autoReadyPods: true });
  kubeconfig = h.server.writeKubeconfig(require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'failover-')));
});
afterEach(async () => {
  await h.stop();
});

const image = 'redis:7.2.4-alpine';
const pass = (options: { primaryMoveWaitMs?: number; sleep?: (ms: number) => Promise<void> } = {}) => runPass({
  client: new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig), leaseNamespace: 'redis-gitops', goneDelayMs: 1, ...options,
});
const pod = (name: string) => h.get('Pod', 'web', name);
function label(name: string, role: 'primary' | 'replica') {
  const p = pod(name);
  h.server.update({ ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, [ROLE_LABEL]: role } } });
}
/** What a role agent does once its Redis changed role (and clears a failover request). */
function agentsSee(primary: string) {
  for (const p of h.server.list('v1', 'Pod', 'web')) {
    const annotations = { ...p.metadata.annotations };
    delete annotations[FAILOVER_REQUESTED_ANNOTATION];
    h.server.update({ ...p, metadata: { ...p.metadata, annotations, labels: { ...p.metadata.labels, [ROLE_LABEL]: p.metadata.name === primary ? 'primary' : 'replica' } } });
  }
}
/** The pods `<name>-primary` selects, by the test API server's own selector code. */
function selected(): string[] {
  const service = h.get('Service', 'web', 'cache-primary');
  return h.server.list('v1', 'Pod', 'web').filter((p) => matchesLabelSelector({ matchLabels: service.spec.selector }, p.metadata.labels)).map((p) => p.metadata.name).sort();
}
function patchSpec(spec: Record<string, unknown>) {
  const current = h.get('RedisInstance', 'web', 'cache');
  h.server.update({ ...current, spec: { ...current.spec, ...spec } });
}

describe('scale-down of a failover instance', () => {
  beforeEach(async () => {
    h.instance('web', 'cache', { image, replicas: 5 });
    await pass();
    h.server.settle();
    agentsSee('cache-4');
    await pass();
  });

  it('asks for a failover and leaves replicas alone until the primary moved', async () => {
    patchSpec({ replicas: 3 });
    const first = await pass({ primaryMoveWaitMs: 50, sleep: async () => undefined });
    expect(first.instances[0]).toMatchObject({ phase: 'Updating', writes: [] });
    expect(first.instances[0].message).toMatch(/^Waiting for the primary to move off cache-4 \(scaling from 5 to 3 removes cache-4\); Sentinel failover requested at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\. The change is applied once redis\.github\.com\/role=primary is on an ordinal below 3\.$/);
    expect(h.get('StatefulSet', 'web', 'cache').spec.replicas).toBe(5);
    const requested = pod('cache-4').metadata.annotations[FAILOVER_REQUESTED_ANNOTATION];
    expect(requested).toMatch(/Z$/);
    expect(h.get('RedisInstance', 'web', 'cache').status.conditions.find((c: any) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'MovingPrimary' });

    expect(h.server.list('v1', 'Event', 'web').filter((e) => e.reason === 'MovingPrimary')).toHaveLength(1);
    // A second pass within the failover timeout does not ask again.
    await pass({ primaryMoveWaitMs: 0 });
    expect(pod('cache-4').metadata.annotations[FAILOVER_REQUESTED_ANNOTATION]).toBe(requested);
    expect(h.get('StatefulSet', 'web', 'cache').spec.replicas).toBe(5);
    expect(h.server.list('v1', 'Event', 'web').filter((e) => e.reason === 'MovingPrimary')).toHaveLength(1);

    // Sentinel promoted cache-1: the next pass scales down.
    agentsSee('cache-1');
    const done = await pass();
    // The quorum and REPLICAS change too: the pods roll (replicas first, the primary with its preStop failover).
    expect(done.instances[0]).toMatchObject({ action: 'rolling-update', reasons: [{ field: 'spec.replicas', from: 5, to: 3 }, { field: 'spec.template' }] });
    expect(h.get('StatefulSet', 'web', 'cache').spec.replicas).toBe(3);
    expect(h.get('Role', 'web', 'cache-role-agent').rules[0].resourceNames).toEqual(['cache-0', 'cache-1', 'cache-2']);
  });

  it('within one pass, when the primary moves while it waits', async () => {
    patchSpec({ replicas: 3 });
    let polls = 0;
    const result = await pass({
      primaryMoveWaitMs: 10_000,
      sleep: async () => { if (++polls === 2) agentsSee('cache-0'); },
    });
    expect(result.instances[0]).toMatchObject({ action: 'rolling-update', phase: 'Updating' });
    expect(polls).toBe(2);
    expect(h.get('StatefulSet', 'web', 'cache').spec.replicas).toBe(3);
  });

  it('reports the primary and its condition in status', async () => {
    const status = h.get('RedisInstance', 'web', 'cache').status;
    expect(status.primary).toBe('cache-4');
    expect(status.conditions.find((c: any) => c.type === 'PrimaryAvailable')).toMatchObject({ status: 'True', reason: 'PrimaryReady', message: 'cache-4 is the primary; 4 replicas linked.' });
    expect(selected()).toEqual(['cache-4']);
  });
});

describe('an instance from before failover (fixed pod 0) moves to Sentinel', () => {
  it('through orphan recreate and a rolling update: no pod deleted by the reconciler, one pod down at a time, <name>-primary always on one pod', async () => {
    // What an earlier version left: replicas 3, pod 0 the primary, no role labels.
    const old = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: 'web' }, spec: { image, replicas: 3, failover: 'none' } }).instance!;
    h.instance('web', 'cache', { image, replicas: 3 });
    const rendered = renderInstance(old);
    const instance = h.get('RedisInstance', 'web', 'cache');
    const owner = { apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', name: 'cache', uid: instance.metadata.uid, controller: true, blockOwnerDeletion: true };
    for (const o of [rendered.configMap, rendered.service, rendered.primaryService!, rendered.statefulSet, rendered.podDisruptionBudget!]) {
      h.server.create({ ...o, metadata: { ...o.metadata, ownerReferences: [owner] } });
    }
    h.server.settle();
    const before = podUids(h.server, 'web');
    expect(Object.keys(before)).toEqual(['cache-0', 'cache-1', 'cache-2']);

    const migrate = await pass();
    expect(migrate.instances[0]).toMatchObject({ action: 'recreate', phase: 'Updating' });
    expect(migrate.instances[0].reasons[0]).toEqual({ object: 'StatefulSet/cache', field: 'spec.podManagementPolicy', from: 'OrderedReady', to: 'Parallel' });
    // The pods were adopted, not deleted; the old pods got the role their configuration gives them, so
    // <name>-primary (now selecting the role label) still points at pod 0.
    expect(podUids(h.server, 'web')).toEqual(before);
    expect([0, 1, 2].map((i) => pod(`cache-${i}`).metadata.labels[ROLE_LABEL])).toEqual(['primary', 'replica', 'replica']);
    expect(h.get('Service', 'web', 'cache-primary').spec.selector[ROLE_LABEL]).toBe('primary');
    expect(selected()).toEqual(['cache-0']);
    expect(h.get('RedisInstance', 'web', 'cache').status.primary).toBe('cache-0');
    expect(h.server.list('v1', 'Event', 'web').map((e) => e.reason).sort()).toEqual(['Recreated', 'RoleLabels']);
    expect(h.get('StatefulSet', 'web', 'cache').spec.podManagementPolicy).toBe('Parallel');
    for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) expect(h.get(kind, 'web', 'cache-role-agent'), kind).toBeDefined();

    // The rolling update, step by step: highest ordinal first, one pod at a time.
    const replaced: string[] = [];
    for (let step = 0; step < 50; step++) {
      h.server.stepStatefulSets();
      const pods = h.server.list('v1', 'Pod', 'web');
      const ready = pods.filter((p) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      expect(ready.length, `step ${step}`).toBeGreaterThanOrEqual(2);
      for (const p of pods) {
        if (before[p.metadata.name] !== p.metadata.uid && !replaced.includes(p.metadata.name)) {
          replaced.push(p.metadata.name);
          // A new pod has a role agent: it labels itself. The new pod 0 comes back as a replica of the
          // primary Sentinel elected when the old pod 0 stopped (here: pod 1).
          expect(p.spec.containers.map((c: any) => c.name)).toEqual(['redis', 'sentinel', 'role-agent', 'config-agent']);
          if (p.metadata.name === 'cache-0') agentsSee('cache-1');
          else label(p.metadata.name, 'replica');
        }
      }
      // Writes go to exactly one pod, except while the old pod 0 is gone and Sentinel has not promoted yet.
      if (pods.some((p) => p.metadata.name === 'cache-0')) expect(selected(), `step ${step}`).toHaveLength(1);
      const sts = h.get('StatefulSet', 'web', 'cache');
      if (replaced.length === 3 && sts.status.updatedReplicas === 3 && sts.status.readyReplicas === 3) break;
    }
    expect(replaced).toEqual(['cache-2', 'cache-1', 'cache-0']);

    const after = await pass();
    expect(after.instances[0]).toMatchObject({ action: 'none', writes: [], phase: 'Running' });
    const status = h.get('RedisInstance', 'web', 'cache').status;
    expect(status.primary).toBe('cache-1');
    expect(status.conditions.find((c: any) => c.type === 'PrimaryAvailable')).toMatchObject({ status: 'True', reason: 'PrimaryReady' });
    expect(h.server.list('v1', 'PersistentVolumeClaim', 'web').map((c) => c.metadata.name).sort()).toEqual(['redis-data-cache-0', 'redis-data-cache-1', 'redis-data-cache-2']);
  });
});
