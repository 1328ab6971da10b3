import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient, loadKubeConfig } from '../../src/reconcile/kube';
import { Lease, leaseExpiry } from '../../src/reconcile/lease';
import { startTestApiServer, type TestApiServer } from '../support/apiserver';

let server: TestApiServer;
let client: KubeClient;
let clock: number;
const now = () => new Date(clock);
const options = (holderIdentity: string) => ({ namespace: 'ops', name: 'redis-gitops-reconciler', holderIdentity, durationSeconds: 60, now });
const stored = () => server.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'ops', name: 'redis-gitops-reconciler' });

beforeAll(async () => {
  server = await startTestApiServer();
  client = new KubeClient(loadKubeConfig({ kubeconfig: server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'lease-'))) }).kubeConfig, { timeoutMs: 300, backoffMs: 1 });
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  clock = Date.parse('2030-01-01T00:00:00Z');
  if (stored()) server.delete({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'ops', name: 'redis-gitops-reconciler' });
  server.resetRequestLog();
});

describe('Lease', () => {
  it('is created when absent; another holder then sees who holds it until when', async () => {
    const first = await Lease.acquire(client, options('run-a'));
    expect(first.acquired).toBe(true);
    expect(stored().spec).toMatchObject({ holderIdentity: 'run-a', leaseDurationSeconds: 60, renewTime: '2030-01-01T00:00:00.000000Z' });
    const second = await Lease.acquire(client, options('run-b'));
    expect(second).toEqual({ acquired: false, holder: 'run-a', until: new Date('2030-01-01T00:01:00Z') });
  });

  it('is taken over once expired, counting the transition', async () => {
    await Lease.acquire(client, options('run-a'));
    clock += 61_000;
    const taken = await Lease.acquire(client, options('run-b'));
    expect(taken.acquired).toBe(true);
    expect(stored().spec).toMatchObject({ holderIdentity: 'run-b', leaseTransitions: 1 });
  });

  it('renews once a third of the duration has passed, once for callers in parallel', async () => {
    const taken = await Lease.acquire(client, options('run-a'));
    if (!taken.acquired) throw new Error('not acquired');
    await taken.lease.keep();
    expect(server.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
    clock += 25_000;
    await Promise.all([1, 2, 3, 4, 5].map(() => taken.lease.keep()));
    expect(server.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([200]);
    expect(leaseExpiry(stored())!.until).toEqual(new Date(clock + 60_000));
  });

  it('says so when it was lost to another run, and is released (holder cleared) at the end', async () => {
    const taken = await Lease.acquire(client, options('run-a'));
    if (!taken.acquired) throw new Error('not acquired');
    const lease = stored();
    server.update({ ...lease, spec: { ...lease.spec, holderIdentity: 'thief' } });
    clock += 30_000;
    await expect(taken.lease.keep()).rejects.toThrow('lost the Lease ops/redis-gitops-reconciler to another run; stopping');
    const mine = await Lease.acquire(client, { ...options('run-c'), now: () => new Date(clock + 120_000) });
    if (!mine.acquired) throw new Error('not acquired');
    await mine.lease.release();
    expect(stored().spec.holderIdentity).toBeUndefined();
    expect(leaseExpiry(stored())).toBeUndefined();
  });
});
