import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, KIND } from '../../src/api/types';
import { KubeClient, loadKubeConfig } from '../../src/reconcile/kube';
import { MANAGED_BY } from '../../src/render/instance';
import { readSnapshots, type Snapshot } from '../../src/reconcile/snapshot';
import { startTestApiServer, type TestApiServer } from '../support/apiserver';

/** readSnapshots: every kind read page by page, handed on a namespace at a time, in the apiserver's order. */

let server: TestApiServer;
let kubeconfig: string;
const managed = { 'app.kubernetes.io/managed-by': MANAGED_BY };
beforeAll(async () => {
  server = await startTestApiServer();
  kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'snapshot-')));
  // 'a-b' lists before 'a' (keys are <namespace>/<name>, and '-' sorts before '/').
  for (const [ns, names] of [['a', ['x', 'y']], ['a-b', ['z']], ['b', ['w']]] as const) {
    for (const name of names) {
      server.create({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: ns }, spec: { image: 'redis:7.2.4-alpine' } });
      server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: managed } });
      server.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `redis-data-${name}-0`, namespace: ns, labels: { 'app.kubernetes.io/name': 'redis' } },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    }
  }
  // Children in a namespace without instances are read past and dropped.
  server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stray', namespace: 'a-a', labels: managed } });
});
afterAll(async () => {
  await server.stop();
});

const names = (m: ReadonlyMap<string, unknown>) => [...m.keys()];
async function read(pageSize: number, namespace?: string): Promise<Snapshot[]> {
  const client = new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig, { pageSize });
  const out: Snapshot[] = [];
  for await (const snapshot of readSnapshots(client, namespace)) out.push(snapshot);
  return out;
}

describe('readSnapshots', () => {
  it('hands on one snapshot per namespace with instances, each with exactly its objects, whatever the page size', async () => {
    for (const pageSize of [1, 2, 500]) {
      const snapshots = await read(pageSize);
      expect(snapshots.map((s) => s.namespace), `pageSize ${pageSize}`).toEqual(['a-b', 'a', 'b']);
      expect(snapshots.map((s) => s.instances.map((i) => i.metadata.name))).toEqual([['z'], ['x', 'y'], ['w']]);
      expect(snapshots.map((s) => names(s.configMaps))).toEqual([['a-b/z'], ['a/x', 'a/y'], ['b/w']]);
      expect(snapshots.map((s) => [...s.claims].map(([i, c]) => [i, c.map((x) => x.metadata?.name)])))
        .toEqual([[['z', ['redis-data-z-0']]], [['x', ['redis-data-x-0']], ['y', ['redis-data-y-0']]], [['w', ['redis-data-w-0']]]]);
      expect(snapshots.every((s) => s.statefulSets.size === 0 && s.secrets === undefined)).toBe(true);
    }
  });

  it('sends one request per page of each kind: 6 LISTs when every kind fits a page', async () => {
    server.resetRequestLog();
    await read(500);
    expect(server.requests.map((r) => r.path.split('/').pop())).toEqual([
      'redisinstances', 'statefulsets', 'configmaps', 'services', 'poddisruptionbudgets', 'persistentvolumeclaims',
    ]);
    server.resetRequestLog();
    await read(2);
    const pages = (resource: string) => server.requests.filter((r) => r.path.endsWith(`/${resource}`)).length;
    expect([pages('redisinstances'), pages('configmaps'), pages('persistentvolumeclaims'), pages('statefulsets')]).toEqual([2, 3, 2, 1]);
  });

  it('reads only the instances when there are none, and only one namespace with -n', async () => {
    server.resetRequestLog();
    expect(await read(500, 'empty')).toEqual([]);
    expect(server.requests.map((r) => r.path)).toEqual(['/apis/redis.github.com/v1/namespaces/empty/redisinstances']);
    const only = await read(1, 'a');
    expect(only.map((s) => [s.namespace, names(s.configMaps)])).toEqual([['a', ['a/x', 'a/y']]]);
  });
});
