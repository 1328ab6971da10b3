import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprintOf, unchangedSinceSettled } from '../../src/reconcile/fingerprint';
import type { Snapshot } from '../../src/reconcile/snapshot';
import { startHarness, type Harness } from './harness';

/**
 * The fingerprint (src/reconcile/fingerprint.ts): a pass that finds an instance as the last
 * pass settled it reports it in sync without planning it; anything that changes what the
 * plan or the status is computed from changes the fingerprint, and the instance is planned.
 */

const meta = (name: string, rv: string, extra: Record<string, unknown> = {}) => ({ name, namespace: 'web', uid: `uid-${name}`, resourceVersion: rv, ...extra });
const instance = (extra: Record<string, any> = {}) => ({
  apiVersion: 'redis.github.com/v1', kind: 'RedisInstance',
  metadata: { ...meta('cache', '10'), generation: 3, labels: { team: 'a' }, annotations: { note: 'x' }, ...extra.metadata },
  spec: { image: 'redis:7.2.4' },
  status: { phase: 'Running', observedGeneration: 3, ...extra.status },
}) as any;
function snapshot(changes: Partial<Record<'sts' | 'cm' | 'svc' | 'pvc', string | undefined>> = {}, extra: Partial<Snapshot> = {}): Snapshot {
  const rv = (k: keyof typeof changes, dflt: string) => (k in changes ? changes[k] : dflt);
  const obj = (name: string, v: string | undefined) => (v === undefined ? [] : [[`web/${name}`, { metadata: meta(name, v) }]] as const);
  return {
    namespace: 'web',
    instances: [],
    statefulSets: new Map(obj('cache', rv('sts', '1')) as any),
    configMaps: new Map(obj('cache', rv('cm', '2')) as any),
    services: new Map([...obj('cache', rv('svc', '3')), ...obj('cache-primary', '4')] as any),
    podDisruptionBudgets: new Map(obj('cache', '5') as any),
    claims: new Map(rv('pvc', '6') === undefined ? [] : [['cache', [{ metadata: meta('redis-data-cache-0', rv('pvc', '6')!) }]]] as any),
    ...extra,
  };
}

describe('fingerprintOf (pure)', () => {
  const base = fingerprintOf(snapshot(), instance());

  it('is the same for the same reads, whatever the instance resourceVersion and status say', () => {
    expect(fingerprintOf(snapshot(), instance())).toBe(base);
    expect(fingerprintOf(snapshot(), instance({ metadata: { resourceVersion: '99' }, status: { phase: 'Updating', message: 'other' } }))).toBe(base);
  });

  it('changes with every input of the plan and the status', () => {
    const changed = [
      fingerprintOf(snapshot(), instance({ metadata: { generation: 4 } })),
      fingerprintOf(snapshot(), instance({ metadata: { labels: { team: 'b' } } })),
      fingerprintOf(snapshot(), instance({ metadata: { annotations: {} } })),
      fingerprintOf(snapshot(), instance({ metadata: { uid: 'other' } })),
      fingerprintOf(snapshot({ sts: '7' }), instance()),
      fingerprintOf(snapshot({ sts: undefined }), instance()),
      fingerprintOf(snapshot({ cm: '8' }), instance()),
      fingerprintOf(snapshot({ svc: undefined }), instance()),
      fingerprintOf(snapshot({ pvc: '9' }), instance()),
    ];
    for (const f of changed) expect(f).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
  });

  it('the Secret: a rotated password changes it, an unreadable Secret too', () => {
    const withAuth = { ...instance(), spec: { image: 'redis:7.2.4', auth: { secretName: 'auth' } } };
    const secret = (data: string) => ({ secrets: new Map([['auth', { metadata: meta('auth', '1'), data: { password: data } }]]) } as any);
    const old = fingerprintOf(snapshot({}, secret('b2xk')), withAuth);
    expect(fingerprintOf(snapshot({}, secret('b2xk')), withAuth)).toBe(old);
    expect(fingerprintOf(snapshot({}, secret('bmV3')), withAuth)).not.toBe(old);
    expect(fingerprintOf(snapshot({}, { secretError: 'forbidden' }), withAuth)).not.toBe(old);
  });

  it('unchangedSinceSettled needs the same fingerprint, Running, the generation observed, and no deletion', () => {
    expect(unchangedSinceSettled(instance({ status: { fingerprint: base } }), base)).toBe(true);
    expect(unchangedSinceSettled(instance({ status: { fingerprint: 'other' } }), base)).toBe(false);
    expect(unchangedSinceSettled(instance({ status: { fingerprint: base, phase: 'Updating' } }), base)).toBe(false);
    expect(unchangedSinceSettled(instance({ status: { fingerprint: base, observedGeneration: 2 } }), base)).toBe(false);
    expect(unchangedSinceSettled(instance({ status: { fingerprint: base }, metadata: { deletionTimestamp: '2026-12-02T00:00:00Z' } }), base)).toBe(false);
  });
});

describe('the fingerprint in passes (test API server)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ autoReadyPods: true });
  });
  afterEach(async () => {
    await h.stop();
  });

  const status = () => h.get('RedisInstance', 'web', 'cache').status;
  const writes = () => h.server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);

  it('Running and settled: the status keeps the fingerprint; the next pass reports the instance unchanged with zero writes', async () => {
    h.instance('web', 'cache', { image: 'redis:7.2.4-alpine', replicas: 2 });
    await h.reconcile();
    expect(status().fingerprint).toBeUndefined(); // Creating: not settled
    h.server.settle();
    await h.reconcile();
    expect(status()).toMatchObject({ phase: 'Running', fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/) });
    h.server.resetRequestLog();
    const { lines } = await h.reconcile();
    expect(lines).toEqual([expect.objectContaining({ name: 'cache', action: 'none', message: 'in sync (unchanged since the last pass)', writes: [], statusChanged: false })]);
    expect(writes()).toEqual([]);
  });

  it('a drifted child changes the fingerprint: the instance is planned and healed, the fingerprint is cleared, then kept anew', async () => {
    h.instance('web', 'cache', { image: 'redis:7.2.4-alpine' });
    await h.reconcile();
    h.server.settle();
    await h.reconcile();
    const settled = status().fingerprint;
    expect(settled).toBeDefined();
    const cm = h.get('ConfigMap', 'web', 'cache');
    h.server.update({ ...cm, data: { ...cm.data, 'redis.conf': 'drifted' } });
    const healed = await h.reconcile();
    expect(healed.lines[0]).toMatchObject({ action: 'none', writes: ['patch ConfigMap/cache'] });
    expect(h.get('ConfigMap', 'web', 'cache').data['redis.conf']).toContain('appendonly yes');
    // Acted on: the fingerprint of the read before the write no longer holds.
    expect(status().fingerprint).toBeUndefined();
    await h.reconcile();
    expect(status().fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(status().fingerprint).not.toBe(settled);
  });

  it('the PodDisruptionBudget: its status changes do not count, a changed spec or label does', async () => {
    h.instance('web', 'cache', { image: 'redis:7.2.4-alpine', replicas: 2 });
    await h.reconcile();
    h.server.settle();
    await h.reconcile();
    expect(status().fingerprint).toBeDefined();
    const pdb = () => h.get('PodDisruptionBudget', 'web', 'cache');
    h.server.updateStatus({ ...pdb(), status: { currentHealthy: 1, desiredHealthy: 1, disruptionsAllowed: 0, expectedPods: 2, observedGeneration: 1 } });
    h.server.resetRequestLog();
    expect((await h.reconcile()).lines[0].message).toBe('in sync (unchanged since the last pass)');
    expect(writes()).toEqual([]);
    h.server.update({ ...pdb(), spec: { ...pdb().spec, maxUnavailable: 2 } });
    expect((await h.reconcile()).lines[0]).toMatchObject({ writes: ['patch PodDisruptionBudget/cache'] });
    expect(pdb().spec.maxUnavailable).toBe(1);
    await h.reconcile();
    expect(status().fingerprint).toBeDefined(); // settled again: a label change must still be seen
    h.server.update({ ...pdb(), metadata: { ...pdb().metadata, labels: { ...pdb().metadata.labels, 'app.kubernetes.io/managed-by': 'someone' } } });
    expect((await h.reconcile()).lines[0]).toMatchObject({ writes: ['patch PodDisruptionBudget/cache'] });
  });

  it('a spec change (a new generation) is planned even though the children did not move', async () => {
    h.instance('web', 'cache', { image: 'redis:7.2.4-alpine' });
    await h.reconcile();
    h.server.settle();
    await h.reconcile();
    const ri = h.get('RedisInstance', 'web', 'cache');
    h.server.update({ ...ri, spec: { ...ri.spec, image: 'redis:7.4.1-alpine' } });
    const { lines } = await h.reconcile();
    expect(lines[0]).toMatchObject({ action: 'rolling-update' });
    expect(h.get('StatefulSet', 'web', 'cache').spec.template.spec.containers[0].image).toBe('redis:7.4.1-alpine');
  });
});
