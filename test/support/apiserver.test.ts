/**
 * Tests of the test API server, driven over real HTTP through @kubernetes/client-node 1.4
 * (and plain fetch for what the client does not send).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareQuantities, startTestApiServer, type TestApiServer } from './apiserver';
import { strategicMergePatch } from './apiserver/patch';

const NS = 'default';
const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const STRATEGIC = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

interface Clients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
  coordination: k8s.CoordinationV1Api;
  storage: k8s.StorageV1Api;
  objects: k8s.KubernetesObjectApi;
}

function clientsFor(server: TestApiServer): Clients {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfigYaml());
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    storage: kc.makeApiClient(k8s.StorageV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
}

/** The error a client call failed with: HTTP code and the parsed Status body. */
async function apiError(p: Promise<unknown>): Promise<{ code: number; body: any; headers: Record<string, string> }> {
  try {
    await p;
  } catch (e: any) {
    if (typeof e?.code !== 'number') throw e;
    return { code: e.code, body: typeof e.body === 'string' ? JSON.parse(e.body) : e.body, headers: e.headers ?? {} };
  }
  throw new Error('expected the call to fail');
}

function redisStatefulSet(name = 'redis', replicas = 3, spec: Record<string, unknown> = {}): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      serviceName: name,
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'redis', image: 'redis:7.2', ports: [{ name: 'redis', containerPort: 6379 }] }] },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...spec,
    },
  };
}

function redisInstance(name = 'cache'): any {
  return {
    apiVersion: 'redis.github.com/v1',
    kind: 'RedisInstance',
    metadata: { name, namespace: NS },
    spec: { replicas: 1, storage: '1Gi' },
    status: { phase: 'Ready' },
  };
}

let server: TestApiServer;
let c: Clients;

async function raw(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${server.token}`, ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

beforeEach(async () => {
  server = await startTestApiServer();
  c = clientsFor(server);
});

afterEach(async () => {
  await server.stop();
});

describe('connection, discovery and kubeconfig', () => {
  it('serves a kubeconfig the client loads from a file, and checks the token', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'kubeconfig-'))));
    const ns = await kc.makeApiClient(k8s.CoreV1Api).readNamespace({ name: 'anything-goes' });
    expect(ns.status?.phase).toBe('Active');

    const res = await fetch(`${server.url}/api/v1/namespaces/default/configmaps`, { headers: { Authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  it('serves discovery, which KubernetesObjectApi uses', async () => {
    expect((await raw('GET', '/api')).body.versions).toEqual(['v1']);
    const groups = (await raw('GET', '/apis')).body.groups.map((g: any) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['apps', 'policy', 'storage.k8s.io', 'redis.github.com']));
    expect((await raw('GET', '/version')).body.gitVersion).toBe('v1.32.0');
    const apps = (await raw('GET', '/apis/apps/v1')).body;
    expect(apps.resources.map((r: any) => r.name)).toEqual(['statefulsets', 'statefulsets/status']);

    await c.objects.create(redisInstance());
    const read = await c.objects.read({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: NS } });
    expect(read.metadata?.name).toBe('cache');
    expect(server.requests.some((r) => r.path === '/apis/redis.github.com/v1')).toBe(true);
  });

  it('answers unknown paths and methods like the apiserver', async () => {
    expect((await raw('GET', '/apis/apps/v1/namespaces/default/deployments')).body.message).toBe('the server could not find the requested resource');
    expect((await raw('GET', '/api/v1/namespaces/default/configmaps/x/status')).status).toBe(404);
    expect((await raw('POST', '/api/v1/configmaps', { metadata: { name: 'x' } })).status).toBe(405);
  });
});

describe('resource kinds', () => {
  const manifests: any[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'team' }, data: { a: '1' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'team' }, stringData: { password: 'hunter2' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: 'team' }, spec: { selector: { app: 'x' }, ports: [{ port: 6379 }] } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'x', namespace: 'team' } },
    { apiVersion: 'v1', kind: 'Event', metadata: { name: 'x', namespace: 'team' }, involvedObject: { kind: 'Pod', name: 'p' }, reason: 'R' },
    { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'x', namespace: 'team' }, reason: 'R', action: 'A' },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'x', namespace: 'team' }, spec: { maxUnavailable: 1 } },
    { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'x' }, provisioner: 'p' },
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'x', namespace: 'team' }, spec: { holderIdentity: 'me' } },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'x', namespace: 'team' },
      spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } },
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'x', namespace: 'team' }, rules: [] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'x', namespace: 'team' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' },
      subjects: [{ kind: 'ServiceAccount', name: 'x', namespace: 'team' }],
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'x' }, rules: [] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'x' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'x' },
      subjects: [{ kind: 'User', name: 'someone' }],
    },
    { ...redisInstance(), metadata: { name: 'x', namespace: 'team' } },
  ];

  it('creates, reads, lists, replaces and deletes every served kind through KubernetesObjectApi', async () => {
    for (const m of manifests) {
      const created = await c.objects.create(m);
      expect(created.metadata?.uid, `${m.kind}`).toBeDefined();
      const read = await c.objects.read({ apiVersion: m.apiVersion, kind: m.kind, metadata: { name: 'x', namespace: m.metadata.namespace, ...m.metadata } });
      const listed = await c.objects.list(m.apiVersion, m.kind, m.metadata.namespace);
      expect(listed.items.map((i) => i.metadata?.name)).toContain(m.metadata.name);
      const replaced = await c.objects.replace({ ...read, metadata: { ...read.metadata, labels: { touched: 'yes' } } });
      expect(replaced.metadata?.labels).toMatchObject({ touched: 'yes' });
    }
    expect(server.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'team', name: 'x' })).toMatchObject({
      type: 'Opaque',
      data: { password: Buffer.from('hunter2').toString('base64') },
    });
    expect(server.get({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', name: 'x' })).toMatchObject({
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    });
    for (const m of [...manifests].reverse()) {
      await c.objects.delete({ apiVersion: m.apiVersion, kind: m.kind, metadata: m.metadata });
    }
    expect(server.list('v1', 'ConfigMap')).toEqual([]);
  });

  it('serves registered custom resources (here cluster-scoped, without a status subresource)', async () => {
    server.registerCustomResource({ group: 'example.com', version: 'v1alpha1', plural: 'widgets', kind: 'Widget', namespaced: false, statusSubresource: false });
    const args = { group: 'example.com', version: 'v1alpha1', plural: 'widgets' };
    const w = (await c.custom.createClusterCustomObject({
      ...args,
      body: { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 }, status: { ok: true } },
    })) as any;
    expect(w.status).toEqual({ ok: true }); // kept: no status subresource
    const patched = (await c.custom.patchClusterCustomObject({ ...args, name: 'w', body: { status: { ok: false } } }, MERGE)) as any;
    expect(patched.metadata.generation).toBe(2); // any non-metadata change counts without a status subresource
    expect((await raw('GET', '/apis/example.com/v1alpha1/widgets/w/status')).status).toBe(404);
    expect((await raw('GET', '/apis/example.com/v1alpha1')).body.resources.map((r: any) => r.name)).toEqual(['widgets']);
  });

  it('leases: optimistic locking as leader election uses it', async () => {
    const lease = await c.coordination.createNamespacedLease({
      namespace: NS,
      body: { metadata: { name: 'reconciler' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new k8s.V1MicroTime() } },
    });
    const renewed = await c.coordination.replaceNamespacedLease({
      name: 'reconciler',
      namespace: NS,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'a', renewTime: new k8s.V1MicroTime() } },
    });
    expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(Number(lease.metadata?.resourceVersion));
    const stolen = await apiError(
      c.coordination.replaceNamespacedLease({ name: 'reconciler', namespace: NS, body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } }),
    );
    expect(stolen.body.message).toBe(
      'Operation cannot be fulfilled on leases.coordination.k8s.io "reconciler": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('deletes collections by label selector', async () => {
    for (const [name, app] of [['a', 'redis'], ['b', 'redis'], ['c', 'web']]) {
      await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name, labels: { app } } } });
    }
    await c.core.deleteCollectionNamespacedConfigMap({ namespace: NS, labelSelector: 'app=redis' });
    expect(server.list('v1', 'ConfigMap', NS).map((x) => x.metadata.name)).toEqual(['c']);
  });
});

describe('metadata: uid, resourceVersion, generation', () => {
  it('sets uid, creationTimestamp, resourceVersion and generation on create', async () => {
    const sts = await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() });
    expect(sts.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(sts.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(sts.metadata?.generation).toBe(1);
    expect(sts.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const cm = await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'cfg' }, data: { a: '1' } } });
    expect(Number(cm.metadata?.resourceVersion)).toBeGreaterThan(Number(sts.metadata?.resourceVersion));
    expect(cm.metadata?.generation).toBeUndefined(); // like the apiserver: only workloads and custom resources
    const list = await c.core.listNamespacedConfigMap({ namespace: NS });
    expect(list.metadata?.resourceVersion).toBe(cm.metadata?.resourceVersion);
  });

  it('bumps generation on spec changes only, resourceVersion on every real change', async () => {
    const created = await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() });
    const rv0 = Number(created.metadata!.resourceVersion);

    const labelled = await c.apps.patchNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { metadata: { labels: { team: 'a' } } } }, MERGE);
    expect(labelled.metadata?.generation).toBe(1);
    expect(Number(labelled.metadata!.resourceVersion)).toBeGreaterThan(rv0);

    const scaled = await c.apps.patchNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { spec: { replicas: 5 } } }, MERGE);
    expect(scaled.metadata?.generation).toBe(2);

    const withStatus = await c.apps.replaceNamespacedStatefulSetStatus({
      name: 'redis',
      namespace: NS,
      body: { ...scaled, status: { replicas: 1, availableReplicas: 0 } },
    });
    expect(withStatus.metadata?.generation).toBe(2);
    expect(Number(withStatus.metadata!.resourceVersion)).toBeGreaterThan(Number(scaled.metadata!.resourceVersion));

    // A write that changes nothing does not bump resourceVersion.
    const same = await c.apps.replaceNamespacedStatefulSet({ name: 'redis', namespace: NS, body: withStatus });
    expect(same.metadata?.resourceVersion).toBe(withStatus.metadata?.resourceVersion);
  });

  it('tracks generation of custom resources, ignoring status and metadata', async () => {
    const ri = (await c.custom.createNamespacedCustomObject({
      group: 'redis.github.com',
      version: 'v1',
      namespace: NS,
      plural: 'redisinstances',
      body: redisInstance(),
    })) as any;
    expect(ri.metadata.generation).toBe(1);
    expect(ri.status).toBeUndefined(); // dropped on create with a status subresource
    const args = { group: 'redis.github.com', version: 'v1', namespace: NS, plural: 'redisinstances', name: 'cache' };
    const s1 = (await c.custom.patchNamespacedCustomObjectStatus({ ...args, body: { status: { phase: 'Ready' } } }, MERGE)) as any;
    expect(s1.metadata.generation).toBe(1);
    const a1 = (await c.custom.patchNamespacedCustomObject({ ...args, body: { metadata: { annotations: { a: 'b' } } } }, MERGE)) as any;
    expect(a1.metadata.generation).toBe(1);
    const p1 = (await c.custom.patchNamespacedCustomObject({ ...args, body: [{ op: 'replace', path: '/spec/replicas', value: 3 }] })) as any;
    expect(p1.metadata.generation).toBe(2);
    expect(p1.status).toEqual({ phase: 'Ready' });
  });
});

describe('status subresource', () => {
  it('ignores .status on writes to the object and everything but .status on writes to /status', async () => {
    const sts = await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() });
    expect(sts.status).toEqual({ replicas: 0, availableReplicas: 0 });

    const put = await c.apps.replaceNamespacedStatefulSet({
      name: 'redis',
      namespace: NS,
      body: { ...sts, spec: { ...sts.spec!, replicas: 4 }, status: { replicas: 9, availableReplicas: 9 } },
    });
    expect(put.spec?.replicas).toBe(4);
    expect(put.status).toEqual({ replicas: 0, availableReplicas: 0 });

    const status = await c.apps.replaceNamespacedStatefulSetStatus({
      name: 'redis',
      namespace: NS,
      body: { ...put, metadata: { ...put.metadata, labels: { changed: 'yes' } }, spec: { ...put.spec!, replicas: 1 }, status: { replicas: 2, availableReplicas: 1 } },
    });
    expect(status.spec?.replicas).toBe(4);
    expect(status.metadata?.labels).toEqual({ app: 'redis' });
    expect(status.status).toEqual({ replicas: 2, availableReplicas: 1 });
    expect(status.metadata?.generation).toBe(2);
  });
});

describe('error bodies', () => {
  it('404 NotFound for core, grouped and custom resources', async () => {
    expect(await apiError(c.apps.readNamespacedStatefulSet({ name: 'x', namespace: NS }))).toMatchObject({
      code: 404,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'statefulsets.apps "x" not found',
        reason: 'NotFound',
        details: { name: 'x', group: 'apps', kind: 'statefulsets' },
        code: 404,
      },
    });
    const cm = await apiError(c.core.readNamespacedConfigMap({ name: 'x', namespace: NS }));
    expect(cm.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'configmaps "x" not found',
      reason: 'NotFound',
      details: { name: 'x', kind: 'configmaps' },
      code: 404,
    });
    const ri = await apiError(
      c.custom.getNamespacedCustomObject({ group: 'redis.github.com', version: 'v1', namespace: NS, plural: 'redisinstances', name: 'x' }),
    );
    expect(ri.body.message).toBe('redisinstances.redis.github.com "x" not found');
    expect((await apiError(c.core.deleteNamespacedSecret({ name: 'x', namespace: NS }))).code).toBe(404);
  });

  it('409 AlreadyExists', async () => {
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() });
    const err = await apiError(c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() }));
    expect(err).toMatchObject({ code: 409 });
    expect(err.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'statefulsets.apps "redis" already exists',
      reason: 'AlreadyExists',
      details: { name: 'redis', group: 'apps', kind: 'statefulsets' },
      code: 409,
    });
  });

  it('409 Conflict on a stale resourceVersion (PUT and patch)', async () => {
    const sts = await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() });
    await c.apps.patchNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { spec: { replicas: 2 } } }, MERGE);
    const err = await apiError(c.apps.replaceNamespacedStatefulSet({ name: 'redis', namespace: NS, body: sts }));
    expect(err.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Operation cannot be fulfilled on statefulsets.apps "redis": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'redis', group: 'apps', kind: 'statefulsets' },
      code: 409,
    });
    const patchErr = await apiError(
      c.apps.patchNamespacedStatefulSet(
        { name: 'redis', namespace: NS, body: { metadata: { resourceVersion: sts.metadata!.resourceVersion }, spec: { replicas: 7 } } },
        MERGE,
      ),
    );
    expect(patchErr.code).toBe(409);
    expect(server.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NS, name: 'redis' }).spec.replicas).toBe(2);
  });

  it('PUT without resourceVersion: allowed for built-ins, 422 for custom resources', async () => {
    await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'cfg' }, data: { a: '1' } } });
    const cm = await c.core.replaceNamespacedConfigMap({ name: 'cfg', namespace: NS, body: { metadata: { name: 'cfg' }, data: { a: '2' } } });
    expect(cm.data).toEqual({ a: '2' });

    await c.objects.create(redisInstance());
    const { status: _s, ...body } = redisInstance();
    const err = await apiError(
      c.custom.replaceNamespacedCustomObject({ group: 'redis.github.com', version: 'v1', namespace: NS, plural: 'redisinstances', name: 'cache', body }),
    );
    expect(err.code).toBe(422);
    expect(err.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'RedisInstance.redis.github.com "cache" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
      reason: 'Invalid',
      details: {
        name: 'cache',
        group: 'redis.github.com',
        kind: 'RedisInstance',
        causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' }],
      },
      code: 422,
    });
  });

  it('400 for a malformed body, 415 for an unknown or unsupported patch type', async () => {
    const bad = await raw('POST', '/api/v1/namespaces/default/configmaps', '{"metadata": {');
    expect(bad.status).toBe(400);
    expect(bad.body.reason).toBe('BadRequest');

    await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'cfg' } } });
    const unknown = await raw('PATCH', '/api/v1/namespaces/default/configmaps/cfg', { data: {} }, 'application/json');
    expect(unknown.status).toBe(415);
    expect(unknown.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
      reason: 'UnsupportedMediaType',
      code: 415,
    });

    await c.objects.create(redisInstance());
    const smp = await apiError(
      c.custom.patchNamespacedCustomObject(
        { group: 'redis.github.com', version: 'v1', namespace: NS, plural: 'redisinstances', name: 'cache', body: { spec: { replicas: 2 } } },
        STRATEGIC,
      ),
    );
    expect(smp.code).toBe(415);
    expect(smp.body.message).toBe(
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
  });
});

describe('StatefulSet update validation', () => {
  const FORBIDDEN =
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

  it.each([
    ['volumeClaimTemplates', [{ op: 'replace', path: '/spec/volumeClaimTemplates/0/spec/resources/requests/storage', value: '2Gi' }]],
    ['selector', [{ op: 'add', path: '/spec/selector/matchExpressions', value: [{ key: 'app', operator: 'Exists' }] }]],
    ['serviceName', [{ op: 'replace', path: '/spec/serviceName', value: 'other' }]],
    ['podManagementPolicy', [{ op: 'replace', path: '/spec/podManagementPolicy', value: 'Parallel' }]],
    ['revisionHistoryLimit', [{ op: 'replace', path: '/spec/revisionHistoryLimit', value: 3 }]],
  ])('rejects a change of %s with 422', async (_field, patch) => {
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() });
    const err = await apiError(c.apps.patchNamespacedStatefulSet({ name: 'redis', namespace: NS, body: patch }));
    expect(err.code).toBe(422);
    expect(err.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `StatefulSet.apps "redis" is invalid: ${FORBIDDEN}`,
      reason: 'Invalid',
      details: {
        name: 'redis',
        group: 'apps',
        kind: 'StatefulSet',
        causes: [{ reason: 'FieldValueForbidden', message: FORBIDDEN.replace(/^spec: /, ''), field: 'spec' }],
      },
      code: 422,
    });
  });

  it('accepts the mutable fields, and compares after defaulting', async () => {
    const created = await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() });
    expect(created.spec).toMatchObject({
      podManagementPolicy: 'OrderedReady',
      revisionHistoryLimit: 10,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    });
    expect(created.spec?.volumeClaimTemplates?.[0]).toMatchObject({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      spec: { volumeMode: 'Filesystem' },
      status: { phase: 'Pending' },
    });
    expect(created.spec?.template.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
      securityContext: {},
    });
    expect(created.spec?.template.spec?.containers[0]).toMatchObject({
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      ports: [{ name: 'redis', containerPort: 6379, protocol: 'TCP' }],
    });

    // The reconciler's desired manifest (no defaults) with the live resourceVersion is accepted.
    const desired = redisStatefulSet('redis', 5);
    desired.metadata.resourceVersion = created.metadata?.resourceVersion;
    desired.spec.template.spec.containers[0].image = 'redis:7.4';
    desired.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 1 } };
    desired.spec.minReadySeconds = 5;
    desired.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Delete', whenScaled: 'Retain' };
    const replaced = await c.apps.replaceNamespacedStatefulSet({ name: 'redis', namespace: NS, body: desired });
    expect(replaced.spec?.replicas).toBe(5);
    expect(replaced.metadata?.generation).toBe(2);
  });
});

describe('PersistentVolumeClaim updates', () => {
  async function boundClaim(storageClassName: string) {
    const pvc = await c.core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: '10Gi' } } },
      },
    });
    expect(pvc.status?.phase).toBe('Pending');
    expect(pvc.spec?.volumeMode).toBe('Filesystem');
    server.updateStatus({ ...pvc, apiVersion: 'v1', kind: 'PersistentVolumeClaim', status: { phase: 'Bound', capacity: { storage: '10Gi' } } });
  }
  const resize = (storage: string) =>
    c.core.patchNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS, body: { spec: { resources: { requests: { storage } } } } }, MERGE);

  it('rejects shrinking with 422', async () => {
    await boundClaim('standard');
    const err = await apiError(resize('9Gi'));
    expect(err.code).toBe(422);
    expect(err.body.message).toBe(
      'PersistentVolumeClaim "data" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value',
    );
    expect(err.body.details).toEqual({
      name: 'data',
      kind: 'PersistentVolumeClaim',
      causes: [{ reason: 'FieldValueForbidden', message: 'Forbidden: field can not be less than previous value', field: 'spec.resources.requests.storage' }],
    });
    // The same size in other units is no change at all.
    expect((await resize('10240Mi')).spec?.resources?.requests?.storage).toBe('10240Mi');
  });

  it('rejects changes to other spec fields with 422', async () => {
    await boundClaim('standard');
    const err = await apiError(
      c.core.patchNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS, body: { spec: { storageClassName: 'fast' } } }, MERGE),
    );
    expect(err.code).toBe(422);
    expect(err.body.message).toMatch(
      /^PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except resources\.requests and volumeAttributesClassName for bound claims\n/,
    );
    expect(err.body.details.causes[0]).toMatchObject({ reason: 'FieldValueForbidden', field: 'spec' });
    const modes = await apiError(
      c.core.patchNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS, body: [{ op: 'add', path: '/spec/accessModes/-', value: 'ReadOnlyMany' }] }),
    );
    expect(modes.code).toBe(422);
  });

  it('answers growth without an expandable StorageClass with 403, like the resize admission plugin', async () => {
    await boundClaim('standard');
    const missing = await apiError(resize('20Gi'));
    expect(missing.code).toBe(403);
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
      reason: 'Forbidden',
      details: { name: 'data', kind: 'persistentvolumeclaims' },
      code: 403,
    });
    await c.storage.createStorageClass({ body: { metadata: { name: 'standard' }, provisioner: 'rancher.io/local-path' } });
    expect((await apiError(resize('20Gi'))).code).toBe(403);
  });

  it('allows growth with allowVolumeExpansion, and the capacity follows on the next step', async () => {
    await c.storage.createStorageClass({ body: { metadata: { name: 'fast' }, provisioner: 'csi.example.com', allowVolumeExpansion: true } });
    await boundClaim('fast');
    const grown = await resize('20Gi');
    expect(grown.spec?.resources?.requests?.storage).toBe('20Gi');
    expect(grown.status?.capacity?.storage).toBe('10Gi');
    server.stepStatefulSets();
    expect(server.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: NS, name: 'data' }).status.capacity.storage).toBe('20Gi');
  });

  it('compares quantities numerically', () => {
    expect(compareQuantities('1Gi', '1024Mi')).toBe(0);
    expect(compareQuantities('1G', '1Gi')).toBe(-1);
    expect(compareQuantities('1.5Gi', '1536Mi')).toBe(0);
    expect(compareQuantities('500m', '0.5')).toBe(0);
    expect(compareQuantities('1e3', '1k')).toBe(0);
    expect(compareQuantities('2Ti', '2000G')).toBe(1);
  });
});

describe('label and field selectors', () => {
  beforeEach(async () => {
    const cms = [
      ['a', { app: 'redis', env: 'prod', role: 'primary' }],
      ['b', { app: 'redis', env: 'staging' }],
      ['c', { app: 'web', env: 'prod', tier: 'cache' }],
      ['d', {}],
    ] as const;
    for (const [name, labels] of cms) {
      await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name, labels: { ...labels } } } });
    }
    await c.core.createNamespacedConfigMap({ namespace: 'other', body: { metadata: { name: 'a', labels: { app: 'redis' } } } });
  });

  const names = async (labelSelector?: string, fieldSelector?: string) =>
    (await c.core.listNamespacedConfigMap({ namespace: NS, labelSelector, fieldSelector })).items.map((i) => i.metadata?.name);

  it.each([
    ['app=redis', ['a', 'b']],
    ['app==redis', ['a', 'b']],
    ['app!=redis', ['c', 'd']],
    ['env in (prod,staging)', ['a', 'b', 'c']],
    ['env notin (prod)', ['b', 'd']],
    ['role', ['a']],
    ['!role', ['b', 'c', 'd']],
    ['app=redis,env in (prod)', ['a']],
    ['app=redis, !role', ['b']],
  ])('%s', async (selector, expected) => {
    expect(await names(selector)).toEqual(expected);
  });

  it('field selectors and cluster-wide lists', async () => {
    expect(await names(undefined, 'metadata.name=c')).toEqual(['c']);
    expect(await names(undefined, 'metadata.name!=c')).toEqual(['a', 'b', 'd']);
    const all = await c.core.listConfigMapForAllNamespaces({ labelSelector: 'app=redis' });
    expect(all.items.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`)).toEqual(['default/a', 'default/b', 'other/a']);
    const other = await c.core.listConfigMapForAllNamespaces({ fieldSelector: 'metadata.namespace=other' });
    expect(other.items).toHaveLength(1);
    const err = await apiError(c.core.listNamespacedConfigMap({ namespace: NS, fieldSelector: 'data.x=1' }));
    expect(err.code).toBe(400);
    expect(err.body.message).toBe('field label not supported: data.x');
  });

  it('list bodies look like the apiserver (typed items have no kind; custom items do)', async () => {
    const body = (await raw('GET', '/api/v1/namespaces/default/configmaps?limit=2')).body;
    expect(body).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { remainingItemCount: 2 } });
    expect(body.items[0].kind).toBeUndefined();
    const next = (await raw('GET', `/api/v1/namespaces/default/configmaps?limit=2&continue=${body.metadata.continue}`)).body;
    expect(next.items.map((i: any) => i.metadata.name)).toEqual(['c', 'd']);
    await c.objects.create(redisInstance());
    const ri = (await raw('GET', '/apis/redis.github.com/v1/namespaces/default/redisinstances')).body;
    expect(ri.kind).toBe('RedisInstanceList');
    expect(ri.items[0]).toMatchObject({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance' });
  });
});

describe('limit and continue, like kube-apiserver', () => {
  beforeEach(async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name, labels: { app: name === 'c' ? 'web' : 'redis' } } } });
    }
  });

  const page = (query: string) => raw('GET', `/api/v1/namespaces/${NS}/configmaps?${query}`);

  it('pages in key order until no continue token is left; the selector applies before the limit', async () => {
    const first = (await page('limit=2&labelSelector=app%3Dredis')).body;
    expect(first.items.map((i: any) => i.metadata.name)).toEqual(['a', 'b']);
    // ListMeta: with a selector the number left is unknown, and not set.
    expect(first.metadata.remainingItemCount).toBeUndefined();
    const second = (await page(`limit=2&labelSelector=app%3Dredis&continue=${encodeURIComponent(first.metadata.continue)}`)).body;
    expect(second.items.map((i: any) => i.metadata.name)).toEqual(['d', 'e']);
    expect(second.metadata.continue).toBeUndefined();
    expect(second.metadata.remainingItemCount).toBeUndefined();
  });

  it('a limit at least the number of objects gives one page and no token', async () => {
    const all = await c.core.listNamespacedConfigMap({ namespace: NS, limit: 5 });
    expect(all.items.map((i) => i.metadata?.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(all.metadata?._continue).toBeUndefined();
  });

  it('client-node reads the token as _continue, and sends it back as continue', async () => {
    const first = await c.core.listNamespacedConfigMap({ namespace: NS, limit: 3 });
    expect(first.metadata?._continue).toEqual(expect.any(String));
    const rest = await c.core.listNamespacedConfigMap({ namespace: NS, limit: 3, _continue: first.metadata?._continue });
    expect(rest.items.map((i) => i.metadata?.name)).toEqual(['d', 'e']);
  });

  it('a token older than the last compaction is 410 Expired; a new list works', async () => {
    const first = (await page('limit=2')).body;
    server.compact();
    const gone = await page(`limit=2&continue=${encodeURIComponent(first.metadata.continue)}`);
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
    expect(gone.body.message).toMatch(/^The provided continue parameter is too old to display a consistent list result\./);
    expect((await page('limit=2')).body.items.map((i: any) => i.metadata.name)).toEqual(['a', 'b']);
  });

  it('a token that is not one is 400', async () => {
    const bad = await page('limit=2&continue=bm90IGpzb24');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('continue key is not valid: illegal base64 data');
  });
});

describe('patch content types', () => {
  it('client-node sends json-patch by default and merge-patch when told to', async () => {
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() });
    server.resetRequestLog();
    await c.apps.patchNamespacedStatefulSet({ name: 'redis', namespace: NS, body: [{ op: 'replace', path: '/spec/replicas', value: 1 }] });
    await c.apps.patchNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { spec: { replicas: 2 } } }, MERGE);
    await c.objects.patch({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'redis', namespace: NS }, spec: { replicas: 3 } } as any);
    expect(server.requests.filter((r) => r.method === 'PATCH').map((r) => r.contentType)).toEqual([
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ]);
    expect(server.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NS, name: 'redis' }).spec.replicas).toBe(3);
  });

  it('merge patch (RFC 7386): null deletes, arrays replace, objects merge', async () => {
    await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'cfg', labels: { a: '1', b: '2' } }, data: { x: '1', y: '2' } } });
    const cm = await c.core.patchNamespacedConfigMap(
      { name: 'cfg', namespace: NS, body: { metadata: { labels: { a: null, c: '3' } }, data: { y: null, z: '3' } } },
      MERGE,
    );
    expect(cm.metadata?.labels).toEqual({ b: '2', c: '3' });
    expect(cm.data).toEqual({ x: '1', z: '3' });

    await c.apps.createNamespacedStatefulSet({
      namespace: NS,
      body: redisStatefulSet('redis', 1, {
        template: {
          metadata: { labels: { app: 'redis' } },
          spec: { containers: [{ name: 'redis', image: 'redis:7.2' }, { name: 'exporter', image: 'exporter:1' }] },
        },
      }),
    });
    const sts = await c.apps.patchNamespacedStatefulSet(
      { name: 'redis', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'redis', image: 'redis:7.4' }] } } } } },
      MERGE,
    );
    expect(sts.spec?.template.spec?.containers.map((x) => x.name)).toEqual(['redis']);
    // The replaced list is defaulted again.
    expect(sts.spec?.template.spec?.containers[0].imagePullPolicy).toBe('IfNotPresent');
  });

  it('JSON patch (RFC 6902): all operations, escaping and append', async () => {
    await c.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'cfg', labels: { 'app.kubernetes.io/name': 'redis' } }, data: { a: '1', b: '2' } },
    });
    const cm = await c.core.patchNamespacedConfigMap({
      name: 'cfg',
      namespace: NS,
      body: [
        { op: 'test', path: '/metadata/labels/app.kubernetes.io~1name', value: 'redis' },
        { op: 'add', path: '/metadata/labels/tilde~0key', value: 'x' },
        { op: 'replace', path: '/data/a', value: 'one' },
        { op: 'copy', from: '/data/a', path: '/data/c' },
        { op: 'move', from: '/data/b', path: '/data/d' },
        { op: 'remove', path: '/metadata/labels/app.kubernetes.io~1name' },
        { op: 'add', path: '/metadata/finalizers', value: ['x/one'] },
        { op: 'add', path: '/metadata/finalizers/-', value: 'x/two' },
        { op: 'add', path: '/metadata/finalizers/0', value: 'x/zero' },
      ],
    });
    expect(cm.metadata?.labels).toEqual({ 'tilde~key': 'x' });
    expect(cm.data).toEqual({ a: 'one', c: 'one', d: '2' });
    expect(cm.metadata?.finalizers).toEqual(['x/zero', 'x/one', 'x/two']);
  });

  it('JSON patch that does not apply: 422 with the generic message, nothing written', async () => {
    const created = await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'cfg' }, data: { a: '1' } } });
    const generic = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server rejected our request due to an error in our request',
      reason: 'Invalid',
      details: {},
      code: 422,
    };
    const failedTest = await apiError(
      c.core.patchNamespacedConfigMap({
        name: 'cfg',
        namespace: NS,
        body: [
          { op: 'replace', path: '/data/a', value: '2' },
          { op: 'test', path: '/metadata/resourceVersion', value: 'stale' },
        ],
      }),
    );
    expect(failedTest).toMatchObject({ code: 422, body: generic });
    const missing = await apiError(c.core.patchNamespacedConfigMap({ name: 'cfg', namespace: NS, body: [{ op: 'remove', path: '/data/nope' }] }));
    expect(missing.body).toEqual(generic);
    const live = await c.core.readNamespacedConfigMap({ name: 'cfg', namespace: NS });
    expect(live.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
  });

  it('strategic merge patch merges containers by name and honours $patch: delete', async () => {
    await c.apps.createNamespacedStatefulSet({
      namespace: NS,
      body: redisStatefulSet('redis', 1, {
        template: {
          metadata: { labels: { app: 'redis' } },
          spec: {
            containers: [
              { name: 'redis', image: 'redis:7.2', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
              { name: 'exporter', image: 'exporter:1' },
            ],
            volumes: [{ name: 'conf', configMap: { name: 'redis-conf' } }],
          },
        },
      }),
    });
    const sts = await c.apps.patchNamespacedStatefulSet(
      {
        name: 'redis',
        namespace: NS,
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'redis', image: 'redis:7.4', env: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }] },
                  { name: 'exporter', $patch: 'delete' },
                  { name: 'sidecar', image: 'busybox:1' },
                ],
                volumes: [{ name: 'tmp', emptyDir: {} }],
              },
            },
          },
        },
      },
      STRATEGIC,
    );
    const spec = sts.spec!.template.spec!;
    expect(spec.containers.map((x) => `${x.name}=${x.image}`)).toEqual(['redis=redis:7.4', 'sidecar=busybox:1']);
    expect(spec.containers[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
    ]);
    expect(spec.volumes?.map((v) => v.name)).toEqual(['conf', 'tmp']);
  });

  it('strategic merge directives: $patch replace, $retainKeys, $setElementOrder, $deleteFromPrimitiveList', () => {
    const live = {
      metadata: { finalizers: ['a', 'b'] },
      spec: {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
        template: { spec: { containers: [{ name: 'a' }, { name: 'b' }], tolerations: [{ key: 'x' }] } },
        selector: { matchLabels: { a: '1', b: '2' } },
      },
    };
    const out = strategicMergePatch(
      live,
      {
        metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] },
        spec: {
          strategy: { $retainKeys: ['type'], type: 'Recreate' },
          template: { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }], containers: [{ name: 'a', image: 'i' }], tolerations: [{ key: 'y' }] } },
          selector: { $patch: 'replace', matchLabels: { c: '3' } },
        },
      },
      'StatefulSet',
    );
    expect(out.metadata.finalizers).toEqual(['b', 'c']);
    expect(out.spec.strategy).toEqual({ type: 'Recreate' });
    expect(out.spec.template.spec.containers).toEqual([{ name: 'b' }, { name: 'a', image: 'i' }]);
    expect(out.spec.template.spec.tolerations).toEqual([{ key: 'y' }]);
    expect(out.spec.selector).toEqual({ matchLabels: { c: '3' } });
  });

  it('server-side apply (approximation): creates, merges, requires fieldManager', async () => {
    const path = '/api/v1/namespaces/default/configmaps/applied';
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: "1"\n';
    const noManager = await raw('PATCH', path, yaml, 'application/apply-patch+yaml');
    expect(noManager.status).toBe(422);
    expect(noManager.body.message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    const created = await raw('PATCH', `${path}?fieldManager=test`, yaml, 'application/apply-patch+yaml');
    expect(created.status).toBe(201);
    const updated = await raw('PATCH', `${path}?fieldManager=test&force=true`, yaml.replace('"1"', '"2"'), 'application/apply-patch+yaml');
    expect(updated.status).toBe(200);
    expect(updated.body.data).toEqual({ a: '2' });
  });
});

describe('deletion', () => {
  async function runningStatefulSet(replicas = 2) {
    await server.stop();
    server = await startTestApiServer({ autoReadyPods: true });
    c = clientsFor(server);
    const sts = await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', replicas) });
    server.settle();
    return sts;
  }
  const pods = () => server.list('v1', 'Pod', NS);
  const claims = () => server.list('v1', 'PersistentVolumeClaim', NS);

  it('Orphan keeps the pods and removes their ownerReferences', async () => {
    await runningStatefulSet();
    expect(pods()).toHaveLength(2);
    // (The typed client decodes the answer as a V1Status, so read the raw body here.)
    const res = await raw('DELETE', '/apis/apps/v1/namespaces/default/statefulsets/redis', { propagationPolicy: 'Orphan' });
    expect(res.status).toBe(200);
    expect(res.body.metadata.deletionTimestamp).toBeDefined();
    expect(res.body.metadata.finalizers).toEqual(['orphan']);
    expect(server.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NS, name: 'redis' })).toBeUndefined();
    expect(pods().map((p) => [p.metadata.name, p.metadata.ownerReferences])).toEqual([
      ['redis-0', undefined],
      ['redis-1', undefined],
    ]);
    expect(claims()).toHaveLength(2);
  });

  it('Background (the default) deletes the pods and keeps the PVCs', async () => {
    const sts = await runningStatefulSet();
    const res = await c.apps.deleteNamespacedStatefulSet({ name: 'redis', namespace: NS });
    expect(res).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'redis', group: 'apps', kind: 'statefulsets', uid: sts.metadata?.uid } });
    expect(pods()).toHaveLength(0);
    expect(claims().map((p) => [p.metadata.name, p.metadata.ownerReferences, p.status.phase])).toEqual([
      ['data-redis-0', undefined, 'Bound'],
      ['data-redis-1', undefined, 'Bound'],
    ]);
  });

  it('Foreground answers with the object being deleted, then removes dependents and the object', async () => {
    await runningStatefulSet();
    const res = await raw('DELETE', '/apis/apps/v1/namespaces/default/statefulsets/redis', { propagationPolicy: 'Foreground' });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toMatchObject({ finalizers: ['foregroundDeletion'], deletionGracePeriodSeconds: 0, generation: 2 });
    expect(res.body.metadata.deletionTimestamp).toBeDefined();
    expect(pods()).toHaveLength(0);
    expect(server.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NS, name: 'redis' })).toBeUndefined();
  });

  it('rejects a mismatched uid or resourceVersion precondition with 409', async () => {
    const sts = await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet() });
    const err = await apiError(c.apps.deleteNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { preconditions: { uid: 'not-the-uid' } } }));
    expect(err.code).toBe(409);
    expect(err.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Operation cannot be fulfilled on StatefulSet.apps "redis": the UID in the precondition (not-the-uid) does not match the UID in record (${sts.metadata?.uid}). The object might have been deleted and then recreated`,
      reason: 'Conflict',
      details: { name: 'redis', group: 'apps', kind: 'StatefulSet' },
      code: 409,
    });
    const rvErr = await apiError(c.apps.deleteNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { preconditions: { resourceVersion: '1' } } }));
    expect(rvErr.body.message).toContain('the ResourceVersion in the precondition (1) does not match the ResourceVersion in record');
    await c.apps.deleteNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { preconditions: { uid: sts.metadata?.uid } } });
  });

  it('finalizers keep the object with a deletionTimestamp until the last one is removed', async () => {
    await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    const res = await raw('DELETE', '/api/v1/namespaces/default/configmaps/held');
    expect(res.status).toBe(200);
    expect(res.body.metadata).toMatchObject({ finalizers: ['example.com/hold'], deletionGracePeriodSeconds: 0 });
    const live = await c.core.readNamespacedConfigMap({ name: 'held', namespace: NS });
    expect(live.metadata?.deletionTimestamp).toBeInstanceOf(Date);

    const added = await apiError(
      c.core.patchNamespacedConfigMap({ name: 'held', namespace: NS, body: { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } } }, MERGE),
    );
    expect(added.code).toBe(422);

    await c.core.patchNamespacedConfigMap({ name: 'held', namespace: NS, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    expect((await apiError(c.core.readNamespacedConfigMap({ name: 'held', namespace: NS }))).code).toBe(404);
  });

  it('answers 202 when deletion is pending and orphanDependents=false was asked', async () => {
    await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    const res = await raw('DELETE', '/api/v1/namespaces/default/configmaps/held', { orphanDependents: false });
    expect(res.status).toBe(202);
  });

  it('collects a dependent only when its last owner is gone', async () => {
    const owner1 = await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'owner1' } } });
    const owner2 = await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'owner2' } } });
    const ref = (o: k8s.V1ConfigMap) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, uid: o.metadata!.uid! });
    await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'dep', ownerReferences: [ref(owner1), ref(owner2)] } } });
    await c.core.deleteNamespacedConfigMap({ name: 'owner1', namespace: NS });
    const dep = await c.core.readNamespacedSecret({ name: 'dep', namespace: NS });
    expect(dep.metadata?.ownerReferences?.map((r) => r.name)).toEqual(['owner2']);
    await c.core.deleteNamespacedConfigMap({ name: 'owner2', namespace: NS });
    expect((await apiError(c.core.readNamespacedSecret({ name: 'dep', namespace: NS }))).code).toBe(404);
  });

  it('returns the object for kinds that do (pods, PVCs, services) and deletes namespaces with their content', async () => {
    const svc = await c.core.createNamespacedService({ namespace: 'team', body: { metadata: { name: 'redis' }, spec: { clusterIP: 'None', ports: [{ port: 6379 }] } } });
    expect(svc.spec).toMatchObject({ clusterIP: 'None', type: 'ClusterIP', sessionAffinity: 'None', ports: [{ port: 6379, protocol: 'TCP', targetPort: 6379 }] });
    const deleted = await raw('DELETE', '/api/v1/namespaces/team/services/redis');
    expect(deleted.body.kind).toBe('Service');
    await c.core.createNamespacedConfigMap({ namespace: 'team', body: { metadata: { name: 'cfg' } } });
    const ns = await c.core.deleteNamespace({ name: 'team' });
    expect((ns as any).status.phase).toBe('Terminating');
    expect(server.list('v1', 'ConfigMap', 'team')).toEqual([]);
    expect(server.get({ apiVersion: 'v1', kind: 'Namespace', name: 'team' })).toBeUndefined();
  });
});

describe('StatefulSet controller', () => {
  const pod = (name: string) => server.get({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name });
  const podNames = () => server.list('v1', 'Pod', NS).map((p) => p.metadata.name);
  const sts = () => server.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NS, name: 'redis' });

  it('creates PVCs and pods in ordinal order, each after the previous is Ready', async () => {
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', 3) });
    server.stepStatefulSets();
    expect(podNames()).toEqual(['redis-0']);
    server.stepStatefulSets();
    expect(podNames()).toEqual(['redis-0']);

    const p0 = pod('redis-0');
    const status = sts().status;
    expect(p0.metadata.labels).toMatchObject({
      app: 'redis',
      'controller-revision-hash': status.updateRevision,
      'statefulset.kubernetes.io/pod-name': 'redis-0',
      'apps.kubernetes.io/pod-index': '0',
    });
    expect(p0.metadata.ownerReferences).toEqual([
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'redis', uid: sts().metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    expect(p0.spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data-redis-0' } }]);
    expect(p0.status.phase).toBe('Running');
    const claim = server.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: NS, name: 'data-redis-0' });
    expect(claim.metadata.ownerReferences).toBeUndefined();
    expect(claim.spec.storageClassName).toBe('standard');
    expect(claim.status).toEqual({ phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } });
    expect(status).toMatchObject({ observedGeneration: 1, replicas: 1, availableReplicas: 0 });
    expect(status.updateRevision).toMatch(/^redis-[a-z0-9]+$/);

    server.setPodReady(NS, 'redis-0', true);
    server.stepStatefulSets();
    expect(podNames()).toEqual(['redis-0', 'redis-1']);
    server.setPodReady(NS, 'redis-1', true);
    server.stepStatefulSets();
    server.setPodReady(NS, 'redis-2', true);
    server.settle();
    expect(sts().status).toEqual({
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: status.updateRevision,
      updateRevision: status.updateRevision,
      collisionCount: 0,
      availableReplicas: 3,
    });
    // Readable through the client with the typed model.
    const read = await c.apps.readNamespacedStatefulSet({ name: 'redis', namespace: NS });
    expect(read.status?.readyReplicas).toBe(3);
  });

  it('creates all pods at once with Parallel', async () => {
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', 3, { podManagementPolicy: 'Parallel' }) });
    server.stepStatefulSets();
    expect(podNames()).toEqual(['redis-0', 'redis-1', 'redis-2']);
  });

  it('rolls from the highest ordinal, one pod at a time, waiting for readiness', async () => {
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', 3) });
    for (let i = 0; i < 3; i++) {
      server.stepStatefulSets();
      server.setPodReady(NS, `redis-${i}`, true);
    }
    server.settle();
    const oldRevision = sts().status.updateRevision;
    const uids = [0, 1, 2].map((i) => pod(`redis-${i}`).metadata.uid);

    const patched = await c.apps.patchNamespacedStatefulSet(
      { name: 'redis', namespace: NS, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'redis:7.4' }] },
    );
    expect(patched.metadata?.generation).toBe(2);
    server.stepStatefulSets();
    const newRevision = sts().status.updateRevision;
    expect(newRevision).not.toBe(oldRevision);
    expect(podNames()).toEqual(['redis-0', 'redis-1']); // redis-2 deleted first

    const replaced: number[] = [];
    for (let round = 0; round < 3; round++) {
      server.stepStatefulSets(); // recreate at the new revision
      const missing = [0, 1, 2].find((i) => pod(`redis-${i}`).metadata.uid !== uids[i]);
      replaced.push(missing!);
      const fresh = pod(`redis-${missing}`);
      expect(fresh.metadata.labels['controller-revision-hash']).toBe(newRevision);
      expect(fresh.spec.containers[0].image).toBe('redis:7.4');
      server.stepStatefulSets(); // not Ready yet: nothing moves
      expect(podNames()).toHaveLength(3);
      server.setPodReady(NS, `redis-${missing}`, true);
      server.stepStatefulSets(); // deletes the next one (or finishes)
    }
    expect(replaced).toEqual([2, 1, 0]);
    server.settle();
    expect(sts().status).toMatchObject({
      observedGeneration: 2,
      replicas: 3,
      readyReplicas: 3,
      updatedReplicas: 3,
      currentReplicas: 3,
      currentRevision: newRevision,
      updateRevision: newRevision,
    });
  });

  it('honours the partition', async () => {
    await server.stop();
    server = await startTestApiServer({ autoReadyPods: true });
    c = clientsFor(server);
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', 3) });
    server.settle();
    const oldRevision = sts().status.currentRevision;
    await c.apps.patchNamespacedStatefulSet(
      {
        name: 'redis',
        namespace: NS,
        body: { spec: { updateStrategy: { rollingUpdate: { partition: 1 } }, template: { spec: { containers: [{ name: 'redis', image: 'redis:8' }] } } } },
      },
      MERGE,
    );
    server.settle();
    const revisions = [0, 1, 2].map((i) => pod(`redis-${i}`).metadata.labels['controller-revision-hash']);
    expect(revisions).toEqual([oldRevision, sts().status.updateRevision, sts().status.updateRevision]);
    expect(sts().status).toMatchObject({ currentRevision: oldRevision, currentReplicas: 1, updatedReplicas: 2 });
  });

  it('scales down from the highest ordinal and keeps the claims', async () => {
    await server.stop();
    server = await startTestApiServer({ autoReadyPods: true });
    c = clientsFor(server);
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', 3) });
    server.settle();
    await c.apps.patchNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { spec: { replicas: 1 } } }, MERGE);
    server.stepStatefulSets();
    expect(podNames()).toEqual(['redis-0', 'redis-1']);
    server.stepStatefulSets();
    expect(podNames()).toEqual(['redis-0']);
    expect(server.list('v1', 'PersistentVolumeClaim', NS)).toHaveLength(3);
    server.settle();
    expect(sts().status).toMatchObject({ replicas: 1, readyReplicas: 1 });
  });

  it('adopts orphaned pods after the StatefulSet is recreated (same pod uids)', async () => {
    await server.stop();
    server = await startTestApiServer({ autoReadyPods: true });
    c = clientsFor(server);
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', 3) });
    server.settle();
    const uids = [0, 1, 2].map((i) => pod(`redis-${i}`).metadata.uid);

    // The reconciler's way of changing volumeClaimTemplates: orphan-delete and recreate.
    await c.apps.deleteNamespacedStatefulSet({ name: 'redis', namespace: NS, propagationPolicy: 'Orphan' });
    expect(pod('redis-0').metadata.ownerReferences).toBeUndefined();
    const bigger = redisStatefulSet('redis', 3);
    bigger.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '2Gi';
    const recreated = await c.apps.createNamespacedStatefulSet({ namespace: NS, body: bigger });
    server.settle();

    expect([0, 1, 2].map((i) => pod(`redis-${i}`).metadata.uid)).toEqual(uids);
    expect(pod('redis-2').metadata.ownerReferences[0]).toMatchObject({ uid: recreated.metadata?.uid, controller: true });
    expect(sts().status).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3 });
  });

  it('starts ordinals at spec.ordinals.start', async () => {
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', 2, { ordinals: { start: 3 }, podManagementPolicy: 'Parallel' }) });
    server.stepStatefulSets();
    expect(podNames()).toEqual(['redis-3', 'redis-4']);
    expect(server.list('v1', 'PersistentVolumeClaim', NS).map((p) => p.metadata.name)).toEqual(['data-redis-3', 'data-redis-4']);
  });

  it('rejects a template whose labels no longer match the selector', async () => {
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', 1) });
    const err = await apiError(
      c.apps.patchNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { spec: { template: { metadata: { labels: { app: 'other' } } } } } }, MERGE),
    );
    expect(err.code).toBe(422);
    expect(err.body.message).toBe(
      'StatefulSet.apps "redis" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
    );
  });

  it('does nothing for a StatefulSet being deleted or with OnDelete', async () => {
    await c.apps.createNamespacedStatefulSet({ namespace: NS, body: redisStatefulSet('redis', 1, { updateStrategy: { type: 'OnDelete' } }) });
    server.stepStatefulSets();
    server.setPodReady(NS, 'redis-0', true);
    await c.apps.patchNamespacedStatefulSet({ name: 'redis', namespace: NS, body: { spec: { template: { metadata: { annotations: { x: 'y' } } } } } }, MERGE);
    const uid = pod('redis-0').metadata.uid;
    server.settle();
    expect(pod('redis-0').metadata.uid).toBe(uid);
    expect(sts().spec.updateStrategy).toEqual({ type: 'OnDelete' });
  });
});

describe('fault injection', () => {
  const createCm = (name: string) => c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name } } });

  it.each([
    [500, 'InternalError'],
    [503, 'ServiceUnavailable'],
  ] as const)('%s: the client sees the error, nothing is written, the next request succeeds', async (kind, reason) => {
    server.injectFault({ kind, count: 1, pathIncludes: '/configmaps' });
    const err = await apiError(createCm('a'));
    expect(err.code).toBe(kind);
    expect(err.body).toMatchObject({ kind: 'Status', status: 'Failure', reason, code: kind });
    expect(server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'a' })).toBeUndefined();
    await createCm('a');
    expect(server.requests.map((r) => r.status)).toEqual([kind, 201]);
  });

  it('429 carries Retry-After', async () => {
    server.injectFault({ kind: 429, count: 2, method: 'GET', retryAfterSeconds: 3 });
    await createCm('a'); // POST is not matched
    const err = await apiError(c.core.readNamespacedConfigMap({ name: 'a', namespace: NS }));
    expect(err.code).toBe(429);
    expect(err.headers['retry-after']).toBe('3');
    expect(err.body).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 3 } });
    expect((await apiError(c.core.readNamespacedConfigMap({ name: 'a', namespace: NS }))).code).toBe(429);
    expect((await c.core.readNamespacedConfigMap({ name: 'a', namespace: NS })).metadata?.name).toBe('a');
  });

  it('timeout: the request is held until the client gives up', async () => {
    server.injectFault({ kind: 'timeout', count: 1, pathIncludes: /configmaps\/a$/ });
    const withTimeout: k8s.ConfigurationOptions = {
      middleware: [
        {
          pre: (ctx) => {
            ctx.setSignal(AbortSignal.timeout(200));
            return new k8s.Observable(Promise.resolve(ctx));
          },
          post: (rsp) => new k8s.Observable(Promise.resolve(rsp)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
    await expect(c.core.readNamespacedConfigMap({ name: 'a', namespace: NS }, withTimeout)).rejects.toThrow(/abort/i);
    expect(server.requests[0]).toMatchObject({ method: 'GET', status: 0 });
    expect((await apiError(c.core.readNamespacedConfigMap({ name: 'a', namespace: NS }))).code).toBe(404);
  });

  it('timeout: stop() does not wait for held requests', async () => {
    server.injectFault({ kind: 'timeout', count: 1 });
    const pending = c.core.listNamespacedConfigMap({ namespace: NS });
    const outcome = pending.then(
      () => 'resolved',
      () => 'rejected',
    );
    await new Promise((r) => setTimeout(r, 50));
    await server.stop();
    expect(await outcome).toBe('rejected');
    server = await startTestApiServer(); // for afterEach
  });

  it('reset: the connection is dropped without an answer', async () => {
    server.injectFault({ kind: 'reset', count: 1, method: 'POST' });
    await expect(createCm('a')).rejects.toThrow();
    expect(server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'a' })).toBeUndefined();
    await createCm('a');
    server.clearFaults();
  });

  it('records every request in order', async () => {
    await createCm('a');
    await c.core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'x=y' });
    expect(server.requests).toEqual([
      { method: 'POST', path: '/api/v1/namespaces/default/configmaps', query: '', contentType: 'application/json', status: 201 },
      { method: 'GET', path: '/api/v1/namespaces/default/configmaps', query: 'labelSelector=x%3Dy', status: 200 },
    ]);
    server.resetRequestLog();
    expect(server.requests).toEqual([]);
  });
});
