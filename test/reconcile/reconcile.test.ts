import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SECRET_HASH_ANNOTATION } from '../../src/reconcile/desired';
import { KubeClient, loadKubeConfig, type Kind } from '../../src/reconcile/kube';
import { runPass } from '../../src/reconcile/run';
import { CONFIG_HASH_ANNOTATION } from '../../src/render/instance';
import { podUids, startHarness, type Harness } from './harness';

/**
 * The decision table and the scenarios of issue 3, over real HTTP: the bin's `reconcile`
 * command (in-process) → client-node → the test API server, whose StatefulSet controller
 * the tests step.
 */

let h: Harness;
const image = 'redis:7.2.4-alpine';

function defaultStorageClass(name = 'standard', allowVolumeExpansion = true) {
  h.server.create({
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'test.csi', allowVolumeExpansion,
  });
}

function patchSpec(namespace: string, name: string, spec: Record<string, unknown>) {
  const current = h.get('RedisInstance', namespace, name);
  h.server.update({ ...current, spec: { ...current.spec, ...spec } });
}

/** Create the instance, reconcile, let the controller start the pods, reconcile again (Running). */
async function running(namespace: string, name: string, spec: Record<string, unknown>) {
  h.instance(namespace, name, { image, ...spec } as any);
  expect((await h.reconcile()).code).toBe(0);
  h.server.settle();
  expect((await h.reconcile()).code).toBe(0);
  expect(h.get('RedisInstance', namespace, name).status.phase).toBe('Running');
  h.server.resetRequestLog();
}

const writes = () => h.server.requests.filter((r) => r.method !== 'GET');
const events = (namespace: string) => h.server.list('v1', 'Event', namespace).map((e) => `${e.type} ${e.reason}: ${e.message}`);

beforeEach(async () => {
  h = await startHarness({ autoReadyPods: true });
  defaultStorageClass();
});
afterEach(async () => {
  await h.stop();
});

describe('reconcile: create', () => {
  it('creates the children with ownerReferences (claims excepted), writes status through /status and records an Event', async () => {
    h.instance('web', 'cache', { image, replicas: 3 });
    const { code, lines, err } = await h.reconcile();
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(lines).toEqual([expect.objectContaining({ namespace: 'web', name: 'cache', action: 'create', phase: 'Creating', statusChanged: true })]);
    const instance = h.get('RedisInstance', 'web', 'cache');
    for (const [kind, name] of [
      ['ConfigMap', 'cache'], ['Service', 'cache'], ['Service', 'cache-primary'], ['StatefulSet', 'cache'], ['PodDisruptionBudget', 'cache'],
      ['ServiceAccount', 'cache-role-agent'], ['Role', 'cache-role-agent'], ['RoleBinding', 'cache-role-agent'],
    ]) {
      expect(h.get(kind, 'web', name)?.metadata.ownerReferences, `${kind}/${name}`).toEqual([
        { apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', name: 'cache', uid: instance.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
    }
    expect(instance.status).toMatchObject({ phase: 'Creating', observedGeneration: 1, ready: false });
    const statusWrite = h.server.requests.find((r) => r.path.endsWith('/redisinstances/cache/status'))!;
    expect(statusWrite).toMatchObject({ method: 'PATCH', contentType: 'application/merge-patch+json', status: 200 });
    expect(events('web')).toEqual(['Normal Created: Created StatefulSet cache with 3 replica(s); also create ServiceAccount/cache-role-agent, create Role/cache-role-agent, create RoleBinding/cache-role-agent, create ConfigMap/cache, create Service/cache, create Service/cache-primary, create PodDisruptionBudget/cache']);

    h.server.settle();
    expect(h.server.list('v1', 'PersistentVolumeClaim', 'web').map((c) => [c.metadata.name, c.metadata.ownerReferences])).toEqual([
      ['redis-data-cache-0', undefined], ['redis-data-cache-1', undefined], ['redis-data-cache-2', undefined],
    ]);
    await h.reconcile();
    expect(h.get('RedisInstance', 'web', 'cache').status).toMatchObject({ phase: 'Running', ready: true, readyReplicas: 3 });
  });

  it('a second pass right after a successful one makes zero writes (only GET/LIST; the Lease is only read)', async () => {
    await running('web', 'cache', { replicas: 2 });
    const { code, lines } = await h.reconcile();
    expect(code).toBe(0);
    expect(lines).toEqual([expect.objectContaining({ action: 'none', phase: 'Running', statusChanged: false, writes: [] })]);
    expect(writes()).toEqual([]);
    expect(h.server.requests.length).toBeLessThanOrEqual(8);
    expect(h.server.requests.filter((r) => r.path.includes('/leases/')).map((r) => r.method)).toEqual(['GET']);
  });

  it('heals deleted and drifted children without touching the StatefulSet', async () => {
    await running('web', 'cache', { replicas: 2 });
    const uid = h.get('StatefulSet', 'web', 'cache').metadata.uid;
    h.server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'cache' });
    const svc = h.get('Service', 'web', 'cache-primary');
    h.server.update({ ...svc, spec: { ...svc.spec, selector: { app: 'other' } } });
    const { lines } = await h.reconcile();
    expect(lines[0]).toMatchObject({ action: 'none', writes: ['create ConfigMap/cache', 'patch Service/cache-primary'] });
    expect(h.get('ConfigMap', 'web', 'cache').data['redis.conf']).toContain('appendonly yes');
    expect(h.get('Service', 'web', 'cache-primary').spec.selector).toEqual({
      'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache', 'statefulset.kubernetes.io/pod-name': 'cache-0',
    });
    expect(h.get('StatefulSet', 'web', 'cache').metadata.uid).toBe(uid);
    // The next pass finds the instance settled: it keeps the fingerprint in the status (one
    // status write, under the Lease); the one after writes nothing.
    h.server.resetRequestLog();
    await h.reconcile();
    expect(writes().filter((w) => !w.path.includes('/leases/')).map((w) => `${w.method} ${w.path}`)).toEqual(['PATCH /apis/redis.github.com/v1/namespaces/web/redisinstances/cache/status']);
    h.server.resetRequestLog();
    await h.reconcile();
    expect(writes()).toEqual([]);
  });
});

describe('reconcile: rolling updates keep the StatefulSet', () => {
  it('replicas 1→3: same uid, the primary Service and PDB appear, the controller scales', async () => {
    await running('web', 'cache', { replicas: 1 });
    const uid = h.get('StatefulSet', 'web', 'cache').metadata.uid;
    patchSpec('web', 'cache', { replicas: 3, failover: 'none' });
    const { lines } = await h.reconcile();
    expect(lines[0]).toMatchObject({
      action: 'rolling-update', phase: 'Updating',
      reasons: [{ object: 'StatefulSet/cache', field: 'spec.replicas', from: 1, to: 3 }],
      writes: ['create Service/cache-primary', 'create PodDisruptionBudget/cache'],
    });
    const patch = h.server.requests.find((r) => r.method === 'PATCH' && r.path.endsWith('/statefulsets/cache'))!;
    expect(patch.contentType).toBe('application/merge-patch+json');
    expect(h.get('StatefulSet', 'web', 'cache').metadata.uid).toBe(uid);
    expect(h.get('RedisInstance', 'web', 'cache').status.message).toBe('StatefulSet is being updated. Updated: 1/3, Ready: 1/3');
    h.server.settle();
    expect(Object.keys(podUids(h.server, 'web')).sort()).toEqual(['cache-0', 'cache-1', 'cache-2']);
    await h.reconcile();
    expect(h.get('RedisInstance', 'web', 'cache').status).toMatchObject({ phase: 'Running', readyReplicas: 3 });
  });

  it('image change: same uid, pods rolled from the highest ordinal', async () => {
    await running('web', 'cache', { replicas: 2 });
    const uid = h.get('StatefulSet', 'web', 'cache').metadata.uid;
    const pods = podUids(h.server, 'web');
    patchSpec('web', 'cache', { image: 'redis:7.4.1-alpine' });
    const { lines } = await h.reconcile();
    expect(lines[0].action).toBe('rolling-update');
    expect(lines[0].reasons).toContainEqual({ object: 'StatefulSet/cache', field: 'spec.template.spec.containers[redis].image', from: image, to: 'redis:7.4.1-alpine' });
    h.server.settle();
    const sts = h.get('StatefulSet', 'web', 'cache');
    expect(sts.metadata.uid).toBe(uid);
    const after = podUids(h.server, 'web');
    expect(after['cache-0']).not.toBe(pods['cache-0']);
    expect(after['cache-1']).not.toBe(pods['cache-1']);
    expect(h.server.list('v1', 'Pod', 'web').map((p) => p.spec.containers[0].image)).toEqual(['redis:7.4.1-alpine', 'redis:7.4.1-alpine']);
  });

  it('resources change: same uid', async () => {
    await running('web', 'cache', {});
    const uid = h.get('StatefulSet', 'web', 'cache').metadata.uid;
    patchSpec('web', 'cache', { resources: { limits: { memory: '256Mi' } } });
    const { lines } = await h.reconcile();
    expect(lines[0].action).toBe('rolling-update');
    // A memory limit also sizes maxmemory (70% of it), so redis.conf and its hash change too.
    expect(lines[0].reasons.map((r: any) => r.field)).toEqual([
      'spec.template.spec.containers[redis].resources', 'spec.template.metadata.annotations[redis.github.com/config-hash]',
    ]);
    expect(h.get('StatefulSet', 'web', 'cache').metadata.uid).toBe(uid);
    expect(h.get('StatefulSet', 'web', 'cache').spec.template.spec.containers[0].resources.limits.memory).toBe('256Mi');
  });

  it('config change: same uid, ConfigMap patched, config-hash changes, pods roll', async () => {
    await running('web', 'cache', { replicas: 2 });
    const uid = h.get('StatefulSet', 'web', 'cache').metadata.uid;
    const hash = h.get('StatefulSet', 'web', 'cache').spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION];
    const pods = podUids(h.server, 'web');
    patchSpec('web', 'cache', { config: { maxmemory: '100mb' } });
    const { lines } = await h.reconcile();
    expect(lines[0]).toMatchObject({ action: 'rolling-update', writes: ['patch ConfigMap/cache'] });
    const sts = h.get('StatefulSet', 'web', 'cache');
    expect(sts.metadata.uid).toBe(uid);
    expect(sts.spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION]).not.toBe(hash);
    expect(h.get('ConfigMap', 'web', 'cache').data['redis.conf']).toContain('maxmemory 100mb');
    h.server.settle();
    expect(podUids(h.server, 'web')['cache-0']).not.toBe(pods['cache-0']);
  });

  it('secret rotation rolls nothing (the pods apply it live); the Secret is still read for status, the password never shown', async () => {
    h.server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cache-auth', namespace: 'web' }, stringData: { password: 'first-password' } });
    await running('web', 'cache', { auth: { secretName: 'cache-auth' } });
    const sts = h.get('StatefulSet', 'web', 'cache');
    expect(sts.spec.template.metadata.annotations[SECRET_HASH_ANNOTATION]).toBeUndefined();
    const pods = podUids(h.server, 'web');
    const secret = h.get('Secret', 'web', 'cache-auth');
    h.server.update({ ...secret, data: { password: Buffer.from('second-password').toString('base64') } });
    const { lines, err } = await h.reconcile();
    expect(lines[0]).toMatchObject({ action: 'none' });
    expect(JSON.stringify([lines, err, h.get('RedisInstance', 'web', 'cache').status, events('web')])).not.toMatch(/password'|first-password|second-password/);
    h.server.settle();
    expect(podUids(h.server, 'web')['cache-0']).toBe(pods['cache-0']);
    expect(h.get('StatefulSet', 'web', 'cache').metadata.resourceVersion).toBe(sts.metadata.resourceVersion);
    expect(h.server.requests.filter((r) => r.path.includes('secrets')).map((r) => `${r.method} ${r.path}`)).toContain('GET /api/v1/namespaces/web/secrets');
  });

  it('a missing auth Secret, then a missing key, each Degraded with its own reason', async () => {
    h.instance('web', 'cache', { image, auth: { secretName: 'cache-auth' } } as any);
    const first = await h.reconcile();
    expect(first.lines[0].warnings).toEqual(['Secret cache-auth not found; the pods cannot start until it exists']);
    expect(h.get('RedisInstance', 'web', 'cache').status.conditions.find((c: any) => c.type === 'Degraded')).toMatchObject({
      status: 'True', reason: 'SecretNotFound', message: 'Secret cache-auth not found; the pods cannot start until it exists',
    });
    h.server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cache-auth', namespace: 'web' }, stringData: { other: 'x' } });
    await h.reconcile();
    expect(h.get('RedisInstance', 'web', 'cache').status.conditions.find((c: any) => c.type === 'Degraded')).toMatchObject({
      status: 'True', reason: 'SecretKeyMissing', message: 'Secret cache-auth has no key "password"; the pods cannot start until it does',
    });
  });

  it('drift in updateStrategy, minReadySeconds and the retention policy is patched back', async () => {
    await running('web', 'cache', {});
    const sts = h.get('StatefulSet', 'web', 'cache');
    h.server.update({ ...sts, spec: { ...sts.spec, minReadySeconds: 7, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } } });
    const { lines } = await h.reconcile();
    expect(lines[0].action).toBe('rolling-update');
    expect(lines[0].reasons.map((r: any) => r.field).sort()).toEqual(['spec.minReadySeconds', 'spec.persistentVolumeClaimRetentionPolicy', 'spec.updateStrategy']);
    const after = h.get('StatefulSet', 'web', 'cache');
    expect(after.metadata.uid).toBe(sts.metadata.uid);
    expect(after.spec).toMatchObject({ updateStrategy: { rollingUpdate: { partition: 0 } }, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain' } });
    expect(after.spec.minReadySeconds ?? 0).toBe(0);
    h.server.resetRequestLog();
    await h.reconcile();
    expect(writes().filter((w) => !w.path.includes('/status') && !w.path.includes('lease') && !w.path.includes('events'))).toEqual([]);
  });

  it('scaling down to one pod removes the primary Service and the PDB', async () => {
    await running('web', 'cache', { replicas: 3, failover: 'none' });
    patchSpec('web', 'cache', { replicas: 1 });
    const { lines } = await h.reconcile();
    expect(lines[0]).toMatchObject({ action: 'rolling-update', writes: ['delete Service/cache-primary', 'delete PodDisruptionBudget/cache'] });
    expect(h.get('Service', 'web', 'cache-primary')).toBeUndefined();
    expect(h.get('PodDisruptionBudget', 'web', 'cache')).toBeUndefined();
    h.server.settle();
    expect(h.server.list('v1', 'PersistentVolumeClaim', 'web')).toHaveLength(3);
  });
});

describe('reconcile: recreate without losing pods or volumes', () => {
  it('storage size increase: a new StatefulSet uid, the same pods (adopted), claims expanded', async () => {
    await running('web', 'cache', { replicas: 2 });
    const old = h.get('StatefulSet', 'web', 'cache');
    const uid = old.metadata.uid;
    // Argo CD's tracking annotation survives the recreate.
    h.server.update({ ...old, metadata: { ...old.metadata, annotations: { ...old.metadata.annotations, 'argocd.argoproj.io/tracking-id': 'redis:apps/StatefulSet:web/cache' } } });
    const pods = podUids(h.server, 'web');
    patchSpec('web', 'cache', { storage: { size: '2Gi' } });
    const { code, lines } = await h.reconcile();
    expect(code).toBe(0);
    expect(lines[0]).toMatchObject({
      action: 'recreate',
      reasons: [{ object: 'StatefulSet/cache', field: 'spec.volumeClaimTemplates[redis-data].spec.resources.requests.storage', from: '1Gi', to: '2Gi' }],
      writes: ['expand PersistentVolumeClaim/redis-data-cache-0 1Gi → 2Gi', 'expand PersistentVolumeClaim/redis-data-cache-1 1Gi → 2Gi'],
    });
    const del = h.server.requests.find((r) => r.method === 'DELETE')!;
    expect(del.path).toBe('/apis/apps/v1/namespaces/web/statefulsets/cache');
    expect(h.server.requests.some((r) => r.method === 'DELETE' && /pods|persistentvolumeclaims/.test(r.path))).toBe(false);
    h.server.settle();
    const sts = h.get('StatefulSet', 'web', 'cache');
    expect(sts.metadata.uid).not.toBe(uid);
    expect(sts.metadata.annotations['argocd.argoproj.io/tracking-id']).toBe('redis:apps/StatefulSet:web/cache');
    expect(podUids(h.server, 'web')).toEqual(pods);
    for (const pod of h.server.list('v1', 'Pod', 'web')) expect(pod.metadata.ownerReferences[0].uid).toBe(sts.metadata.uid);
    expect(h.server.list('v1', 'PersistentVolumeClaim', 'web').map((c) => c.spec.resources.requests.storage)).toEqual(['2Gi', '2Gi']);
    expect(events('web').filter((e) => /Recreated|ExpandedClaims/.test(e)).sort()).toEqual([
      'Normal ExpandedClaims: Expanded claims: redis-data-cache-0 1Gi → 2Gi, redis-data-cache-1 1Gi → 2Gi',
      'Normal Recreated: Recreated StatefulSet cache (orphan delete; the pods were adopted): spec.volumeClaimTemplates[redis-data].spec.resources.requests.storage 1Gi → 2Gi',
    ]);
    await h.reconcile();
    h.server.resetRequestLog();
    await h.reconcile();
    expect(writes()).toEqual([]);
  });

  it('says in status that claims keep their size when the StorageClass does not allow expansion', async () => {
    h.server.create({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fixed' }, provisioner: 'test.csi', allowVolumeExpansion: false });
    await running('web', 'cache', { storage: { size: '1Gi', storageClassName: 'fixed' } });
    patchSpec('web', 'cache', { storage: { size: '2Gi', storageClassName: 'fixed' } });
    const { code, lines } = await h.reconcile();
    expect(code).toBe(0);
    expect(lines[0]).toMatchObject({ action: 'recreate', writes: [] });
    expect(h.get('RedisInstance', 'web', 'cache').status.message).toContain('claim redis-data-cache-0 keeps its size 1Gi (StorageClass fixed does not allow volume expansion)');
    expect(h.get('RedisInstance', 'web', 'cache').status.conditions.find((c: any) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'ClaimsNotExpanded' });
    expect(h.server.list('v1', 'PersistentVolumeClaim', 'web')[0].spec.resources.requests.storage).toBe('1Gi');
  });

  it('a StatefulSet with another serviceName is recreated', async () => {
    await running('web', 'cache', {});
    const sts = h.get('StatefulSet', 'web', 'cache');
    h.server.delete({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'web', name: 'cache' }, { propagationPolicy: 'Orphan' });
    const { uid: _u, resourceVersion: _r, creationTimestamp: _c, generation: _g, ...metadata } = sts.metadata;
    h.server.create({ ...sts, metadata, spec: { ...sts.spec, serviceName: 'legacy' }, status: undefined });
    const pods = podUids(h.server, 'web');
    const { lines } = await h.reconcile();
    expect(lines[0]).toMatchObject({ action: 'recreate', reasons: [{ field: 'spec.serviceName', from: 'legacy', to: 'cache' }] });
    h.server.settle();
    expect(h.get('StatefulSet', 'web', 'cache').spec.serviceName).toBe('cache');
    expect(podUids(h.server, 'web')).toEqual(pods);
  });

  it('a crash between the delete and the create is healed by the next pass: created, pods adopted', async () => {
    await running('web', 'cache', { replicas: 2 });
    const pods = podUids(h.server, 'web');
    h.server.delete({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'web', name: 'cache' }, { propagationPolicy: 'Orphan' });
    expect(h.server.list('v1', 'Pod', 'web').every((p) => !p.metadata.ownerReferences?.length)).toBe(true);
    const { lines } = await h.reconcile();
    expect(lines[0]).toMatchObject({ action: 'create', message: 'create StatefulSet cache (adopting 2 existing claims)' });
    h.server.settle();
    expect(podUids(h.server, 'web')).toEqual(pods);
    const uid = h.get('StatefulSet', 'web', 'cache').metadata.uid;
    for (const pod of h.server.list('v1', 'Pod', 'web')) expect(pod.metadata.ownerReferences[0].uid).toBe(uid);
  });
});

describe('reconcile: refusals and invalid specs', () => {
  it('storage shrink: refused, nothing deleted, status Failed, one Event, no retry loop', async () => {
    await running('web', 'cache', { storage: { size: '2Gi' } });
    const uid = h.get('StatefulSet', 'web', 'cache').metadata.uid;
    patchSpec('web', 'cache', { storage: { size: '1Gi' } });
    const { code, lines } = await h.reconcile();
    expect(code).toBe(0);
    expect(lines[0]).toMatchObject({ action: 'refuse', phase: 'Failed' });
    expect(writes().map((w) => w.method)).not.toContain('DELETE');
    expect(writes().filter((w) => w.path.includes('/statefulsets') || w.path.includes('persistentvolumeclaims'))).toEqual([]);
    expect(h.get('StatefulSet', 'web', 'cache').metadata.uid).toBe(uid);
    const status = h.get('RedisInstance', 'web', 'cache').status;
    expect(status).toMatchObject({ phase: 'Failed', observedGeneration: 2, message: 'Refused: storage cannot shrink from 2Gi to 1Gi (spec.storage.size); nothing was changed. Set spec.storage.size to at least 2Gi.' });
    expect(status.conditions.find((c: any) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'Refused' });
    expect(events('web').filter((e) => e.startsWith('Warning'))).toEqual([`Warning Refused: ${status.message}`]);
    h.server.resetRequestLog();
    expect((await h.reconcile()).code).toBe(0);
    expect(writes()).toEqual([]);
  });

  it('storage class change on bound claims: refused, saying claims cannot change class', async () => {
    await running('web', 'cache', {});
    h.server.create({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, provisioner: 'test.csi' });
    patchSpec('web', 'cache', { storage: { size: '1Gi', storageClassName: 'fast' } });
    const { lines } = await h.reconcile();
    expect(lines[0].action).toBe('refuse');
    expect(h.get('RedisInstance', 'web', 'cache').status.message).toContain('bound claims cannot change class: redis-data-cache-0 (standard)');
  });

  it('an invalid spec is Failed in its own status with the field path; the run exits 0 and others are handled', async () => {
    h.instance('web', 'broken', { image, storage: { size: 'lots' } } as any);
    h.instance('web', 'cache', { image });
    const { code, lines, err } = await h.reconcile();
    expect(code).toBe(0);
    expect(err).toEqual([]);
    const byName = Object.fromEntries(lines.map((l) => [l.name, l]));
    expect(byName.broken).toMatchObject({ action: 'none', phase: 'Failed' });
    expect(byName.cache).toMatchObject({ action: 'create' });
    const status = h.get('RedisInstance', 'web', 'broken').status;
    expect(status.phase).toBe('Failed');
    expect(status.message).toContain('Invalid spec: spec.storage.size: must be a Kubernetes quantity');
    expect(status.conditions.find((c: any) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(h.get('StatefulSet', 'web', 'broken')).toBeUndefined();
  });
});

describe('reconcile: the Lease', () => {
  it('exits 0 and says who holds it when another run holds a valid Lease; nothing is written', async () => {
    const until = new Date(Date.now() + 60_000);
    h.server.create({
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'redis-gitops-reconciler', namespace: 'default' },
      spec: { holderIdentity: 'other-pod-1', leaseDurationSeconds: 60, renewTime: until.toISOString().replace('Z', '000Z').replace(/\.(\d{3})000Z$/, '.$1000Z') },
    });
    h.instance('web', 'cache', { image });
    h.server.resetRequestLog();
    const { code, lines, err } = await h.reconcile();
    expect(code).toBe(0);
    expect(lines).toEqual([]);
    expect(err).toEqual([expect.stringMatching(/^lease default\/redis-gitops-reconciler is held by other-pod-1 until .*: another run is acting, so this one changed nothing$/)]);
    expect(writes()).toEqual([]);
  });

  it('takes an expired Lease and releases it at the end', async () => {
    h.server.create({
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'redis-gitops-reconciler', namespace: 'ops' },
      spec: { holderIdentity: 'crashed-run', leaseDurationSeconds: 60, renewTime: '2020-01-01T00:00:00.000000Z' },
    });
    h.instance('web', 'cache', { image });
    const { code } = await h.reconcile(['--lease-namespace', 'ops']);
    expect(code).toBe(0);
    expect(h.get('StatefulSet', 'web', 'cache')).toBeDefined();
    const lease = h.get('Lease', 'ops', 'redis-gitops-reconciler');
    expect(lease.spec.holderIdentity).toBeUndefined();
    expect(lease.spec.leaseTransitions).toBe(1);
  });

  it('when no other run held the Lease since before the read, the pass acts on that read: each LIST once, the Lease read before the objects', async () => {
    await running('web', 'cache', {});
    await running('web', 'other', {});
    patchSpec('web', 'cache', { image: 'redis:7.4.1-alpine' });
    h.server.resetRequestLog();
    const { code, lines } = await h.reconcile();
    expect(code).toBe(0);
    expect(lines.map((l) => [l.name, l.action])).toEqual([['cache', 'rolling-update'], ['other', 'none']]);
    const lists = h.server.requests.filter((r) => r.method === 'GET' && /(^|&)limit=/.test(r.query)).map((r) => r.path);
    expect(lists.length).toBe(new Set(lists).size);
    const order = h.server.requests.map((r) => `${r.method} ${r.path.split('/').at(-1)}`);
    expect(order.slice(0, 2)).toEqual(['GET redisinstances', 'GET redis-gitops-reconciler']);
  });

  it('when another run took the Lease while this one read, the pass reads again: what that run changed is seen', async () => {
    await running('web', 'cache', {});
    await running('web', 'other', {});
    patchSpec('web', 'cache', { image: 'redis:7.4.1-alpine' });
    // The second Lease GET is the take's: before it, another run takes and releases the
    // Lease, and other's ConfigMap drifts meanwhile. The pass must read again and patch it back.
    let leaseReads = 0;
    class AnotherRun extends KubeClient {
      override async get<T = any>(kind: Kind, namespace: string, name: string): Promise<T | undefined> {
        if (kind === 'Lease' && ++leaseReads === 2) {
          const lease = h.get('Lease', namespace, name);
          const released = { holderIdentity: undefined, leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + 1 };
          if (lease) h.server.update({ ...lease, spec: { ...lease.spec, ...released } });
          else h.server.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: released });
          const cm = h.get('ConfigMap', 'web', 'other');
          h.server.update({ ...cm, data: { ...cm.data, 'redis.conf': 'drifted' } });
        }
        return super.get<T>(kind, namespace, name);
      }
    }
    const client = new AnotherRun(loadKubeConfig({ kubeconfig: h.kubeconfig }).kubeConfig);
    const result = await runPass({ client, leaseNamespace: 'default' });
    expect(result.instances.map((r) => [r.name, r.action, r.writes])).toEqual([
      ['cache', 'rolling-update', []], // an image change writes the StatefulSet only (the version label is on it and its pods)
      ['other', 'none', ['patch ConfigMap/other']],
    ]);
    expect(h.get('ConfigMap', 'web', 'other').data['redis.conf']).toContain('appendonly yes');
  });

  it('two concurrent runs: one acts, the other stands down or finds nothing to do; each object is created once', async () => {
    for (let i = 0; i < 5; i++) h.instance('web', `cache-${i}`, { image });
    const [a, b] = await Promise.all([h.reconcile(), h.reconcile()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const creates = h.server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/statefulsets'));
    expect(creates.filter((r) => r.status === 201)).toHaveLength(5);
    const acted = [a, b].filter((r) => r.lines.some((l) => l.action === 'create'));
    expect(acted).toHaveLength(1);
    const other = acted[0] === a ? b : a;
    expect(other.lines.every((l) => l.action === 'none') || other.err.some((e) => e.includes('is held by'))).toBe(true);
  });
});
