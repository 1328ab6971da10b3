import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiException, CoreV1Api, PatchStrategy, RequestContext } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeApiError, KubeClient, KubeConfigError, LIST_PAGE_SIZE, LIST_RESTARTS, RESOURCES, isRetryable, loadKubeConfig, shapeRequest, toKubeApiError } from '../../src/reconcile/kube';
import { ConnectionPool } from '../../src/reconcile/http';
import { RECONCILER_PERMISSIONS, isPermitted } from '../../src/reconcile/permissions';
import { startTestApiServer, type TestApiServer } from '../support/apiserver';

describe('shapeRequest: the one place that shapes requests', () => {
  async function shaped(verb: Parameters<typeof shapeRequest>[0]) {
    const context = new RequestContext('http://127.0.0.1/x', 'PATCH' as any);
    context.setHeaderParam('Content-Type', 'application/json-patch+json'); // what the generated client picks
    const middleware = shapeRequest(verb, 250).middleware![0];
    return middleware.pre(context).toPromise();
  }

  it('sends patches as JSON merge patches (RFC 7386)', async () => {
    expect((await shaped('patch')).getHeaders()['Content-Type']).toBe(PatchStrategy.MergePatch);
  });

  it('leaves other verbs alone and gives every request a timeout signal', async () => {
    const context = await shaped('create');
    expect(context.getHeaders()['Content-Type']).toBe('application/json-patch+json');
    expect(context.getSignal()).toBeInstanceOf(AbortSignal);
  });

  it('appends to the configured middleware (authentication stays)', () => {
    expect(shapeRequest('get', 1).middlewareMergeStrategy).toBe('append');
  });
});

describe('ConnectionPool', () => {
  it('copies the TLS options of the agent client-node built, with keepAlive, once per agent class', () => {
    const pool = new ConnectionPool(4);
    const built = new https.Agent({ ca: 'CA', cert: 'CERT', key: 'KEY', rejectUnauthorized: true });
    const reused = pool.reuse(built) as https.Agent & { options: https.AgentOptions };
    expect(reused).not.toBe(built);
    expect(reused).toBeInstanceOf(https.Agent);
    expect(reused.options).toMatchObject({ ca: 'CA', cert: 'CERT', key: 'KEY', rejectUnauthorized: true, keepAlive: true });
    expect(reused.maxSockets).toBe(4);
    expect(pool.reuse(new https.Agent({ ca: 'CA' }))).toBe(reused);
    const plain = pool.reuse(new http.Agent()) as http.Agent;
    expect(plain).toBeInstanceOf(http.Agent);
    expect(plain).not.toBe(reused);
    pool.close();
  });

  it('leaves proxy agents and a missing agent alone', () => {
    class ProxyAgent extends http.Agent {}
    const proxy = new ProxyAgent();
    expect(new ConnectionPool().reuse(proxy)).toBe(proxy);
    expect(new ConnectionPool().reuse(undefined)).toBeUndefined();
  });
});

describe('errors: one line, classified', () => {
  it('reads the Status body of an ApiException', () => {
    const body = JSON.stringify({ kind: 'Status', reason: 'Conflict', message: 'Operation cannot be fulfilled on statefulsets.apps "cache": the object has been modified' });
    const error = toKubeApiError(new ApiException(409, 'Conflict', body, {}), 'patch StatefulSet web/cache');
    expect(error).toMatchObject({ status: 409, reason: 'Conflict', conflict: true, alreadyExists: false });
    expect(error.message).toBe('patch StatefulSet web/cache: 409 Conflict: Operation cannot be fulfilled on statefulsets.apps "cache": the object has been modified');
    expect(isRetryable(error)).toBe(false);
  });

  it('takes Retry-After from a 429', () => {
    const error = toKubeApiError(new ApiException(429, 'x', { reason: 'TooManyRequests', message: 'slow down' }, { 'retry-after': '3' }), 'list');
    expect(error.retryAfterMs).toBe(3000);
    expect(isRetryable(error)).toBe(true);
  });

  it('classifies timeouts and resets as retryable network errors', () => {
    const abort = Object.assign(new Error('The user aborted a request.'), { name: 'AbortError', type: 'aborted' });
    expect(toKubeApiError(abort, 'get x')).toMatchObject({ status: 0, reason: 'Timeout', message: 'get x: no answer (timed out)' });
    const reset = Object.assign(new Error('request to http://x failed, reason: socket hang up'), { name: 'FetchError', type: 'system', code: 'ECONNRESET' });
    expect(isRetryable(toKubeApiError(reset, 'get x'))).toBe(true);
    expect(isRetryable(toKubeApiError(new ApiException(422, 'x', {}, {}), 'x'))).toBe(false);
    expect(isRetryable(toKubeApiError(new ApiException(503, 'x', {}, {}), 'x'))).toBe(true);
  });
});

describe('KubeClient against the test API server', () => {
  let server: TestApiServer;
  let kubeconfig: string;
  beforeAll(async () => {
    server = await startTestApiServer();
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'kube-test-')));
  });
  afterAll(async () => {
    await server.stop();
  });

  const client = (sleeps: number[] = [], options = {}) => new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig, {
    timeoutMs: 300, backoffMs: 10, maxBackoffMs: 2_000, sleep: async (ms) => { sleeps.push(ms); }, ...options,
  });

  it('backs off exponentially and honours Retry-After up to the cap', async () => {
    const sleeps: number[] = [];
    server.injectFault({ method: 'GET', pathIncludes: '/configmaps', count: 1, kind: 500 });
    server.injectFault({ method: 'GET', pathIncludes: '/configmaps', count: 1, kind: 503 });
    server.injectFault({ method: 'GET', pathIncludes: '/configmaps', count: 1, kind: 429, retryAfterSeconds: 1 });
    await client(sleeps).list('ConfigMap', 'default');
    expect(sleeps).toEqual([10, 20, 1000]);
    const capped: number[] = [];
    server.injectFault({ method: 'GET', pathIncludes: '/configmaps', count: 1, kind: 429, retryAfterSeconds: 60 });
    await client(capped).list('ConfigMap', 'default');
    expect(capped).toEqual([2000]);
  });

  it('counts every attempt by verb', async () => {
    const c = client();
    server.injectFault({ method: 'GET', pathIncludes: '/services', count: 2, kind: 'reset' });
    await c.list('Service', undefined);
    await c.delete('StatefulSet', 'default', 'missing');
    expect(c.counts).toMatchObject({ list: 3, delete: 1 });
    expect(c.total).toBe(4);
    expect(c.writes).toBe(1);
  });

  it('keeps connections alive: 20 sequential requests, one TCP connection (client-node alone opens one per request)', async () => {
    const c = client();
    server.resetRequestLog();
    for (let i = 0; i < 20; i++) await c.get('ConfigMap', 'default', `none-${i}`);
    expect(server.requests).toHaveLength(20);
    expect(server.connections).toBe(1);
    // What the pool replaces: the generated client on its own.
    server.resetRequestLog();
    const bare = loadKubeConfig({ kubeconfig }).kubeConfig.makeApiClient(CoreV1Api);
    for (let i = 0; i < 5; i++) await bare.listNamespacedConfigMap({ namespace: 'default' });
    expect(server.connections).toBe(5);
  });

  it('answers stay whole on reused connections: 200 concurrent writes and reads, chunked and not, over at most 16 connections', async () => {
    const c = client([], { timeoutMs: 10_000 }); // 100 requests queue for 16 sockets: no timeout retries here
    server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pooled', namespace: 'default' }, data: { big: 'x'.repeat(64 * 1024) } });
    server.resetRequestLog();
    const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      await c.patch('ConfigMap', 'default', 'pooled', { metadata: { annotations: { [`n${i % 10}`]: String(i) } } });
      return (await c.get<{ data: { big: string } }>('ConfigMap', 'default', 'pooled'))!.data.big.length;
    }));
    expect(results).toEqual(Array(100).fill(64 * 1024));
    expect(server.requests.filter((r) => r.status === 200)).toHaveLength(200);
    expect(server.connections).toBeLessThanOrEqual(16);
  });

  it('treats a 404 on delete as success and a 404 on get as undefined', async () => {
    const c = client();
    await expect(c.delete('Service', 'default', 'nope')).resolves.toBeUndefined();
    await expect(c.get('StatefulSet', 'default', 'nope')).resolves.toBeUndefined();
  });

  it('refuses a call that RBAC does not grant (the permissions table is the contract)', async () => {
    await expect(client().replace('StatefulSet', 'default', 'x', {})).rejects.toThrow(/update statefulsets is not in RECONCILER_PERMISSIONS/);
  });

  it('does not retry a 4xx', async () => {
    const c = client();
    const error = await c.create('ConfigMap', 'default', { metadata: { name: 'bad name!' } }).catch((e) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error.status).toBe(422);
    expect(c.counts.create).toBe(1);
  });
});

describe('paginated LISTs', () => {
  let server: TestApiServer;
  let kubeconfig: string;
  beforeAll(async () => {
    server = await startTestApiServer();
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'kube-test-')));
    for (const name of ['a', 'b', 'c', 'd', 'e']) server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'paged', labels: { app: 'x' } } });
  });
  afterAll(async () => {
    await server.stop();
  });
  const client = (options = {}) => new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig, { timeoutMs: 300, backoffMs: 1, pageSize: 2, ...options });
  const lists = () => server.requests.map((r) => new URLSearchParams(r.query)).map((q) => [q.get('limit'), q.has('continue') ? 'continue' : '-']);

  it('sends limit and follows continue until the last page', async () => {
    server.resetRequestLog();
    const c = client();
    const items = await c.list('ConfigMap', 'paged', 'app=x');
    expect(items.map((i) => i.metadata.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(lists()).toEqual([['2', '-'], ['2', 'continue'], ['2', 'continue']]);
    expect(new URLSearchParams(server.requests[1].query).get('labelSelector')).toBe('app=x');
    expect(c.counts.list).toBe(3);
  });

  it('pages of LIST_PAGE_SIZE by default', async () => {
    server.resetRequestLog();
    await new KubeClient(loadKubeConfig({ kubeconfig }).kubeConfig).list('ConfigMap', 'paged');
    expect(LIST_PAGE_SIZE).toBe(100);
    expect(lists()).toEqual([['100', '-']]);
  });

  it('starts the LIST over when a continue token expired (410), and gives the items once', async () => {
    server.resetRequestLog();
    server.injectFault({ method: 'GET', queryIncludes: 'continue=', count: 1, kind: 410 });
    const items = await client().list('ConfigMap', 'paged');
    expect(items.map((i) => i.metadata.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(lists()).toEqual([['2', '-'], ['2', 'continue'], ['2', '-'], ['2', 'continue'], ['2', 'continue']]);
  });

  it('gives up after LIST_RESTARTS restarts', async () => {
    server.resetRequestLog();
    server.injectFault({ method: 'GET', queryIncludes: 'continue=', count: 100, kind: 410 });
    const error = await client().list('ConfigMap', 'paged').catch((e) => e);
    server.clearFaults();
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ status: 410, reason: 'Expired', expired: true });
    expect(error.message).toMatch(/^list configmaps in paged: 410 Expired: The provided continue parameter is too old/);
    expect(LIST_RESTARTS).toBe(3);
    expect(server.requests).toHaveLength(2 * (LIST_RESTARTS + 1));
  });

  it('a 410 on the first page is not a stale token: no restart', async () => {
    server.resetRequestLog();
    server.injectFault({ method: 'GET', count: 1, kind: 410 });
    await expect(client().list('ConfigMap', 'paged')).rejects.toMatchObject({ status: 410 });
    expect(server.requests).toHaveLength(1);
  });

  it('sends nothing after the pass deadline, and waits no backoff past it', async () => {
    server.resetRequestLog();
    const late = client({ deadline: new Date(Date.now() - 1) });
    await expect(late.list('ConfigMap', 'paged')).rejects.toThrow(/^list configmaps in paged: not sent, the pass deadline \(.*\) has passed; the next pass carries on$/);
    expect(server.requests).toHaveLength(0);
    server.injectFault({ method: 'GET', count: 1, kind: 503 });
    const sleeps: number[] = [];
    const soon = client({ deadline: new Date(Date.now() + 5_000), backoffMs: 10_000, maxBackoffMs: 10_000, sleep: async (ms: number) => { sleeps.push(ms); } });
    await expect(soon.list('ConfigMap', 'paged')).rejects.toMatchObject({
      status: 503, message: 'list configmaps in paged: 503 ServiceUnavailable: the server is currently unable to handle the request (after 1 attempts; the pass deadline leaves no time for another)',
    });
    expect(sleeps).toEqual([]);
  });
});

describe('loadKubeConfig', () => {
  it('names what is wrong with an unusable kubeconfig', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
    writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: [{name: c, context: {cluster: gone, user: u}}]\ncurrent-context: c\n');
    expect(() => loadKubeConfig({ kubeconfig: file })).toThrow(new KubeConfigError(`context "c" in ${file} names no cluster with a server`));
  });

  it('merges the files of a KUBECONFIG path list', async () => {
    const server = await startTestApiServer();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'kc-'));
      const first = join(dir, 'a');
      writeFileSync(first, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
      const second = server.writeKubeconfig(dir);
      const loaded = loadKubeConfig({ env: { KUBECONFIG: `${first}:${second}` }, context: 'test' });
      expect(loaded.kubeConfig.getCurrentCluster()!.server).toBe(server.url);
      expect(loaded.namespace).toBe('default');
    } finally {
      await server.stop();
    }
  });

  it('uses the in-cluster service account when nothing else is there and KUBERNETES_SERVICE_HOST is set', () => {
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    try {
      const loaded = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', HOME: mkdtempSync(join(tmpdir(), 'home-')) } });
      expect(loaded.source).toBe('in-cluster service account');
      expect(loaded.kubeConfig.getCurrentCluster()!.server).toBe('https://10.96.0.1:443');
    } finally {
      for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('permissions', () => {
  it('cover every kind the client knows, with no wildcards', () => {
    for (const p of RECONCILER_PERMISSIONS) {
      expect(p.resource).not.toContain('*');
      expect(p.verbs).not.toContain('*' as never);
    }
    for (const { group, resource } of Object.values(RESOURCES)) {
      expect(RECONCILER_PERMISSIONS.some((p) => p.group === group && p.resource === resource), resource).toBe(true);
    }
    expect(isPermitted('', 'persistentvolumeclaims', 'delete')).toBe(false);
    expect(isPermitted('', 'pods', 'delete')).toBe(false);
  });
});
