/**
 * The reconciler scenarios against a real cluster: `npm run test:e2e` with KUBECONFIG set
 * (a disposable kind/k3d/minikube cluster; the kubeconfig user needs to create a CRD, a
 * namespace and workloads). Everything happens in a fresh namespace, deleted at the end.
 * Without KUBECONFIG the file skips, saying why.
 *
 * REDIS_GITOPS_E2E_FAKE=1 runs the same file against the test API server with its
 * StatefulSet controller stepping in the background: a self-check of this file's logic
 * where no cluster is available.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../../src/cli/main';
import { redisInstanceCrd } from '../../src/api/crd';
import { API_GROUP, API_VERSION, KIND, PLURAL } from '../../src/api/types';
import { CONFIG_HASH_ANNOTATION } from '../../src/render/instance';
import { SECRET_HASH_ANNOTATION } from '../../src/reconcile/desired';
import type { TestApiServer } from '../support/apiserver';

const mode: 'cluster' | 'fake' | 'skip' = process.env.KUBECONFIG ? 'cluster' : process.env.REDIS_GITOPS_E2E_FAKE === '1' ? 'fake' : 'skip';
const SKIP_MESSAGE = 'test:e2e skipped: KUBECONFIG is not set. Point it at a disposable cluster (kind, k3d, minikube) to run the reconciler scenarios against a real apiserver.';
if (mode === 'skip') console.warn(SKIP_MESSAGE);

const namespace = `redis-gitops-e2e-${randomBytes(3).toString('hex')}`;
const image = 'redis:7.2.4-alpine';
const newImage = 'redis:7.2.5-alpine';
/** How long a rollout may take on a real cluster (image pulls included). */
const CONVERGE_MS = mode === 'cluster' ? 8 * 60_000 : 10_000;
const POLL_MS = mode === 'cluster' ? 3_000 : 20;

let kubeconfig: string;
let kc: KubeConfig;
let apps: AppsV1Api;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let fake: TestApiServer | undefined;
let stepper: NodeJS.Timeout | undefined;
let createdCrd = false;
let tmp: string | undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Pass { code: number; lines: any[]; err: string[]; writes: number }

/** One `redis-gitops reconcile -n <ns> -o json -v`, in-process; `writes` from the -v line. */
async function pass(extra: string[] = []): Promise<Pass> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(['reconcile', '-n', namespace, '-o', 'json', '-v', '--lease-namespace', namespace, '--kubeconfig', kubeconfig, ...extra], {
    stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: { ...process.env }, cwd: process.cwd(),
  });
  const counts = /create (\d+), update (\d+), patch (\d+), delete (\d+)/.exec(err.join('\n'));
  const writes = counts ? counts.slice(1).map(Number).reduce((a, b) => a + b, 0) : NaN;
  return { code, lines: out.map((l) => JSON.parse(l)), err: err.filter((l) => !/request\(s\)/.test(l)), writes };
}

async function instance(name: string): Promise<any> {
  return custom.getNamespacedCustomObject({ group: API_GROUP, version: 'v1', namespace, plural: PLURAL, name });
}

async function setSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.patchNamespacedCustomObject({ group: API_GROUP, version: 'v1', namespace, plural: PLURAL, name, body: { spec } }, merge);
}

async function statefulSet(name: string) {
  return apps.readNamespacedStatefulSet({ name, namespace });
}

async function podUids(name: string): Promise<Record<string, string>> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${name}` });
  return Object.fromEntries(pods.items.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
}

/** Reconcile until the instance is Running and `until` holds (the controller works between passes). */
async function converge(name: string, until: () => Promise<boolean> = async () => true): Promise<void> {
  const deadline = Date.now() + CONVERGE_MS;
  for (;;) {
    const result = await pass();
    expect(result.err.filter((l) => l.startsWith('error'))).toEqual([]);
    const ri = await instance(name);
    if (ri.status?.phase === 'Running' && ri.status.observedGeneration === ri.metadata.generation && await until()) return;
    if (Date.now() > deadline) throw new Error(`${namespace}/${name} did not converge: ${JSON.stringify(ri.status)}`);
    await sleep(POLL_MS);
  }
}

beforeAll(async () => {
  if (mode === 'skip') return;
  if (mode === 'fake') {
    const { startTestApiServer } = await import('../support/apiserver');
    fake = await startTestApiServer({ autoReadyPods: true });
    fake.create({
      apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
      metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'e2e', allowVolumeExpansion: true,
    });
    tmp = mkdtempSync(join(tmpdir(), 'redis-gitops-e2e-'));
    kubeconfig = fake.writeKubeconfig(tmp);
    // A live controller: the real one works between passes on its own.
    stepper = setInterval(() => fake!.settle(), 10);
  } else {
    kubeconfig = process.env.KUBECONFIG!.split(':')[0];
  }
  kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  apps = kc.makeApiClient(AppsV1Api);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  if (mode === 'cluster') {
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    const name = redisInstanceCrd.metadata.name;
    try {
      await extensions.readCustomResourceDefinition({ name });
    } catch {
      await extensions.createCustomResourceDefinition({ body: structuredClone(redisInstanceCrd) as any });
      createdCrd = true;
      for (let i = 0; i < 60; i++) {
        const crd = await extensions.readCustomResourceDefinition({ name });
        if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
        await sleep(1_000);
      }
    }
  }
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  if (mode === 'skip') return;
  if (stepper) clearInterval(stepper);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  if (createdCrd) {
    await kc.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: redisInstanceCrd.metadata.name }).catch(() => undefined);
  }
  await fake?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(mode === 'skip')(`reconciler e2e (${mode})`, () => {
  it('creates a RedisInstance\'s children and reaches Running', async () => {
    await custom.createNamespacedCustomObject({
      group: API_GROUP, version: 'v1', namespace, plural: PLURAL,
      body: { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'cache', namespace }, spec: { image, replicas: 1, storage: { size: '1Gi' } } },
    });
    const first = await pass();
    expect(first.code).toBe(0);
    expect(first.lines).toEqual([expect.objectContaining({ name: 'cache', action: 'create' })]);
    await converge('cache');
  });

  it('a second pass right after a converged one writes nothing', async () => {
    const again = await pass();
    expect(again.code).toBe(0);
    expect(again.lines[0]).toMatchObject({ action: 'none', statusChanged: false });
    expect(again.writes).toBe(0);
  });

  it('replicas 1→3 (without failover): same StatefulSet uid, three ready pods', async () => {
    const uid = (await statefulSet('cache')).metadata!.uid;
    // Failover (the default from 3 replicas) would change podManagementPolicy: a recreate.
    await setSpec('cache', { replicas: 3, failover: 'none' });
    expect((await pass()).lines[0].action).toBe('rolling-update');
    await converge('cache', async () => (await statefulSet('cache')).status?.readyReplicas === 3);
    expect((await statefulSet('cache')).metadata!.uid).toBe(uid);
  });

  it('image change: same uid, every pod on the new image', async () => {
    const uid = (await statefulSet('cache')).metadata!.uid;
    await setSpec('cache', { image: newImage });
    expect((await pass()).lines[0].action).toBe('rolling-update');
    await converge('cache', async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/instance=cache' });
      return pods.items.length === 3 && pods.items.every((p) => p.spec!.containers[0].image === newImage);
    });
    expect((await statefulSet('cache')).metadata!.uid).toBe(uid);
  });

  it('resources change: same uid', async () => {
    const uid = (await statefulSet('cache')).metadata!.uid;
    await setSpec('cache', { resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { memory: '128Mi' } } });
    const result = await pass();
    expect(result.lines[0].reasons.map((r: any) => r.field)).toContain('spec.template.spec.containers[redis].resources');
    await converge('cache');
    expect((await statefulSet('cache')).metadata!.uid).toBe(uid);
  });

  it('config change: same uid, new config-hash, pods restarted', async () => {
    const before = await statefulSet('cache');
    const pods = await podUids('cache');
    await setSpec('cache', { config: { 'maxmemory-policy': 'allkeys-lru' } });
    expect((await pass()).lines[0]).toMatchObject({ action: 'rolling-update', writes: expect.arrayContaining(['patch ConfigMap/cache']) });
    await converge('cache', async () => {
      const now = await podUids('cache');
      return Object.keys(now).length === 3 && Object.keys(now).every((p) => now[p] !== pods[p]);
    });
    const after = await statefulSet('cache');
    expect(after.metadata!.uid).toBe(before.metadata!.uid);
    expect(after.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]).not.toBe(before.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]);
  });

  it('storage size increase: new StatefulSet uid, same pods, claims expanded or said to keep their size', async () => {
    const uid = (await statefulSet('cache')).metadata!.uid;
    const pods = await podUids('cache');
    await setSpec('cache', { storage: { size: '2Gi' } });
    const result = await pass();
    expect(result.code).toBe(0);
    expect(result.lines[0].action).toBe('recreate');
    expect((await statefulSet('cache')).metadata!.uid).not.toBe(uid);
    await converge('cache');
    expect(await podUids('cache')).toEqual(pods);
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: 'app.kubernetes.io/instance=cache' })).items;
    const classes = await kc.makeApiClient((await import('@kubernetes/client-node')).StorageV1Api).listStorageClass();
    const expandable = claims.every((c) => classes.items.find((s) => s.metadata!.name === c.spec!.storageClassName)?.allowVolumeExpansion);
    if (expandable) {
      for (const c of claims) expect(c.spec!.resources!.requests!.storage).toBe('2Gi');
    } else {
      expect((await instance('cache')).status.message).toContain('keeps its size');
    }
  });

  it('storage shrink: refused, nothing deleted, status Failed, then restored', async () => {
    const uid = (await statefulSet('cache')).metadata!.uid;
    await setSpec('cache', { storage: { size: '1Gi' } });
    const result = await pass();
    expect(result.code).toBe(0);
    expect(result.lines[0].action).toBe('refuse');
    expect((await instance('cache')).status).toMatchObject({ phase: 'Failed', message: expect.stringContaining('storage cannot shrink') });
    expect((await statefulSet('cache')).metadata!.uid).toBe(uid);
    expect((await pass()).writes).toBe(0);
    await setSpec('cache', { storage: { size: '2Gi' } });
    await converge('cache');
  });

  it('a crash between the orphan delete and the create is healed by the next pass', async () => {
    const pods = await podUids('cache');
    await apps.deleteNamespacedStatefulSet({ name: 'cache', namespace, body: { propagationPolicy: 'Orphan' } });
    for (let i = 0; i < 50 && await statefulSet('cache').then(() => true, () => false); i++) await sleep(POLL_MS);
    const result = await pass();
    expect(result.lines[0].action).toBe('create');
    await converge('cache');
    expect(await podUids('cache')).toEqual(pods);
  });

  it('two concurrent runs: exactly one acts, both exit 0', async () => {
    await setSpec('cache', { replicas: 2 });
    const [a, b] = await Promise.all([pass(), pass()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const acted = [a, b].filter((r) => r.lines.some((l) => l.action !== 'none'));
    expect(acted).toHaveLength(1);
    await converge('cache', async () => (await statefulSet('cache')).status?.readyReplicas === 2);
  });

  it('an invalid spec is Failed with the field path; the run exits 0', async () => {
    await custom.createNamespacedCustomObject({
      group: API_GROUP, version: 'v1', namespace, plural: PLURAL,
      body: { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'invalid', namespace }, spec: { image, resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } } },
    });
    const result = await pass();
    expect(result.code).toBe(0);
    expect((await instance('invalid')).status).toMatchObject({ phase: 'Failed', message: expect.stringContaining('spec.resources.requests.memory') });
    await custom.deleteNamespacedCustomObject({ group: API_GROUP, version: 'v1', namespace, plural: PLURAL, name: 'invalid' });
  });

  it('secret rotation rolls no pod (the pods rotate it live)', async () => {
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'secure-auth' }, stringData: { password: 'first-password' } } });
    await custom.createNamespacedCustomObject({
      group: API_GROUP, version: 'v1', namespace, plural: PLURAL,
      body: { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'secure', namespace }, spec: { image, auth: { secretName: 'secure-auth' } } },
    });
    await converge('secure');
    expect((await statefulSet('secure')).spec!.template.metadata!.annotations![SECRET_HASH_ANNOTATION]).toBeUndefined();
    const pods = await podUids('secure');
    await core.patchNamespacedSecret({ name: 'secure-auth', namespace, body: { stringData: { password: 'second-password' } } }, merge);
    const result = await pass();
    expect(result.lines.find((l) => l.name === 'secure')).toMatchObject({ action: 'none' });
    expect((await podUids('secure'))['secure-0']).toBe(pods['secure-0']);
  });
});

describe.skipIf(mode !== 'skip')('reconciler e2e', () => {
  it.skip(SKIP_MESSAGE, () => undefined);
});
