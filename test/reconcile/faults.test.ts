import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { V1ConfigMap, V1PersistentVolumeClaim, V1PodDisruptionBudget, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { desiredFor } from '../../src/reconcile/desired';
import { execute } from '../../src/reconcile/execute';
import { KubeClient, loadKubeConfig } from '../../src/reconcile/kube';
import { plan, type LiveState } from '../../src/reconcile/plan';
import { startHarness, type Harness } from './harness';

/** 429, 5xx, timeouts, resets and 409s against the test API server. */

let h: Harness;
const image = 'redis:7.2.4-alpine';

beforeEach(async () => {
  h = await startHarness({ autoReadyPods: true });
  h.server.create({
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'test.csi', allowVolumeExpansion: true,
  });
});
afterEach(async () => {
  await h.stop();
});

const answered = (method: string, pathPart: string) => h.server.requests
  .filter((r) => r.method === method && r.path.includes(pathPart))
  .map((r) => r.status);

describe('faults within the retry budget are retried and the pass succeeds', () => {
  const kinds = [500, 503, 429, 'timeout', 'reset'] as const;
  for (const kind of kinds) {
    it(`${kind} on a LIST, the StatefulSet create and the status write`, async () => {
      h.instance('web', 'cache', { image });
      h.server.injectFault({ method: 'GET', pathIncludes: '/statefulsets', count: 1, kind, retryAfterSeconds: 0 });
      h.server.injectFault({ method: 'POST', pathIncludes: '/statefulsets', count: 2, kind, retryAfterSeconds: 0 });
      h.server.injectFault({ method: 'PATCH', pathIncludes: '/status', count: 1, kind, retryAfterSeconds: 0 });
      const { code, lines, err } = await h.reconcile(kind === 'timeout' ? ['--request-timeout', '150'] : []);
      expect(err).toEqual([]);
      expect(code).toBe(0);
      expect(lines[0]).toMatchObject({ action: 'create', phase: 'Creating' });
      expect(h.get('StatefulSet', 'web', 'cache')).toBeDefined();
      expect(h.get('RedisInstance', 'web', 'cache').status.phase).toBe('Creating');
      const failed = typeof kind === 'number' ? kind : 0;
      expect(answered('POST', '/statefulsets')).toEqual([failed, failed, 201]);
      expect(answered('PATCH', '/status')).toEqual([failed, 200]);
    });
  }

  it('honours Retry-After on 429, capped by the longest delay', async () => {
    h.instance('web', 'cache', { image });
    h.server.injectFault({ method: 'GET', pathIncludes: '/redisinstances', count: 1, kind: 429, retryAfterSeconds: 30 });
    const started = Date.now();
    const { code } = await h.reconcile();
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000); // capped at --retry-max-delay (20 ms in tests), not 30 s
  });
});

describe('faults beyond the retry budget', () => {
  it('exit 1 with one stderr line naming the instance; the other instances are still handled', async () => {
    h.instance('team-a', 'cache', { image });
    h.instance('team-b', 'cache', { image });
    h.instance('team-c', 'cache', { image });
    h.server.injectFault({ method: 'POST', pathIncludes: '/namespaces/team-b/statefulsets', count: 10, kind: 500 });
    const { code, lines, err } = await h.reconcile();
    expect(code).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^error: team-b\/cache: create StatefulSet team-b\/cache: 500 InternalError: Internal error occurred: injected fault \(after 4 attempts\)$/);
    expect(answered('POST', '/namespaces/team-b/statefulsets')).toEqual([500, 500, 500, 500]);
    expect(h.get('StatefulSet', 'team-a', 'cache')).toBeDefined();
    expect(h.get('StatefulSet', 'team-c', 'cache')).toBeDefined();
    const byNamespace = Object.fromEntries(lines.map((l) => [l.namespace, l]));
    expect(byNamespace['team-b']).toMatchObject({ action: 'create', phase: 'Failed', error: expect.stringContaining('500 InternalError') });
    expect(h.get('RedisInstance', 'team-b', 'cache').status).toMatchObject({ phase: 'Failed', message: expect.stringContaining('create failed: create StatefulSet team-b/cache: 500') });
    expect(h.server.list('v1', 'Event', 'team-b').map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning Failed']);

    // The next pass, with the API healthy again, converges.
    h.server.clearFaults();
    const again = await h.reconcile();
    expect(again.code).toBe(0);
    expect(h.get('StatefulSet', 'team-b', 'cache')).toBeDefined();
  });

  it('a LIST that keeps failing stops the pass with exit 1 and one line', async () => {
    h.instance('web', 'cache', { image });
    h.server.injectFault({ method: 'GET', pathIncludes: '/configmaps', count: 10, kind: 'reset' });
    const { code, lines, err } = await h.reconcile();
    expect(code).toBe(1);
    expect(lines).toEqual([]);
    expect(err).toEqual(['error: list configmaps (app.kubernetes.io/managed-by=redis-gitops): connection failed (ECONNRESET) (after 4 attempts)']);
    expect(h.server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('a request that never answers times out after --request-timeout, each attempt', async () => {
    h.instance('web', 'cache', { image });
    h.server.injectFault({ method: 'GET', pathIncludes: '/redisinstances', count: 10, kind: 'timeout' });
    const started = Date.now();
    const { code, err } = await h.cli(['plan', '-A', '--retries', '2', '--request-timeout', '150']);
    expect(code).toBe(1);
    expect(err).toEqual(['error: list redisinstances: no answer (timed out) (after 2 attempts)']);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('409 Conflict: re-read and retry', () => {
  it('a patch planned against a StatefulSet that changed since is re-read, re-planned and applied', async () => {
    h.instance('web', 'cache', { image });
    await h.reconcile();
    h.server.settle();
    await h.reconcile();
    const current = h.get('RedisInstance', 'web', 'cache');
    h.server.update({ ...current, spec: { ...current.spec, replicas: 2 } });

    const { kubeConfig } = loadKubeConfig({ kubeconfig: h.kubeconfig });
    const client = new KubeClient(kubeConfig, { timeoutMs: 300, backoffMs: 1 });
    const read = async (): Promise<LiveState> => ({
      statefulSet: await client.get<V1StatefulSet>('StatefulSet', 'web', 'cache'),
      configMap: await client.get<V1ConfigMap>('ConfigMap', 'web', 'cache'),
      services: [await client.get<V1Service>('Service', 'web', 'cache'), await client.get<V1Service>('Service', 'web', 'cache-primary')]
        .filter((s): s is V1Service => s !== undefined),
      podDisruptionBudget: await client.get<V1PodDisruptionBudget>('PodDisruptionBudget', 'web', 'cache'),
      pvcs: await client.list<V1PersistentVolumeClaim>('PersistentVolumeClaim', 'web'),
    });
    const desired = desiredFor(h.get('RedisInstance', 'web', 'cache'));
    if (!desired.ok) throw new Error('invalid');
    const live = await read();
    const stale = { desired, live, plan: plan(desired, live) };
    expect(stale.plan.action).toBe('rolling-update');

    // Someone writes the StatefulSet after our read: our conditional patch gets 409.
    const sts = h.get('StatefulSet', 'web', 'cache');
    h.server.update({ ...sts, metadata: { ...sts.metadata, labels: { ...sts.metadata.labels, touched: 'yes' } } });
    h.server.resetRequestLog();
    let refreshed = 0;
    const result = await execute(client, stale, {
      refresh: async () => {
        refreshed++;
        const fresh = await read();
        return { desired, live: fresh, plan: plan(desired, fresh) };
      },
    });
    expect(result.error).toBeUndefined();
    expect(refreshed).toBe(1);
    expect(answered('PATCH', '/statefulsets/cache')).toEqual([409, 200]);
    expect(h.get('StatefulSet', 'web', 'cache').spec.replicas).toBe(2);
    expect(h.get('StatefulSet', 'web', 'cache').metadata.labels.touched).toBe('yes');
  });

  it('a create that meets an object we did not list (AlreadyExists) adopts it instead of failing', async () => {
    // A ConfigMap of the same name without our labels: invisible to the labelled LIST.
    h.server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cache', namespace: 'web' }, data: { 'redis.conf': 'port 1\n' } });
    h.instance('web', 'cache', { image });
    const { code, lines, err } = await h.reconcile();
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(lines[0].action).toBe('create');
    expect(answered('POST', '/configmaps')).toEqual([409]);
    const cm = h.get('ConfigMap', 'web', 'cache');
    expect(cm.metadata.labels['app.kubernetes.io/managed-by']).toBe('redis-gitops');
    expect(cm.metadata.ownerReferences).toHaveLength(1);
    expect(cm.data['redis.conf']).toContain('port 6379');
  });
});
