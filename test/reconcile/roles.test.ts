import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { validateRedisInstance } from '../../src/api/validate';
import { renderInstance } from '../../src/render/instance';
import { primaryMove, primaryStatus, roleLabelCorrections } from '../../src/reconcile/roles';

function resolved(spec: Record<string, unknown> = {}) {
  return validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: 'web' }, spec: { image: 'redis:7.2.4', replicas: 3, ...spec } }).instance!;
}

interface PodSpec { role?: string; ready?: boolean; agent?: boolean; sentinelReady?: boolean; annotations?: Record<string, string> }

function pods(...specs: PodSpec[]): V1Pod[] {
  return specs.map((s, i) => ({
    metadata: { name: `cache-${i}`, namespace: 'web', labels: { 'app.kubernetes.io/instance': 'cache', ...(s.role ? { 'redis.github.com/role': s.role } : {}) }, ...(s.annotations ? { annotations: s.annotations } : {}) },
    spec: { containers: [{ name: 'redis' }, ...(s.agent === false ? [] : [{ name: 'sentinel' }, { name: 'role-agent' }])] } as any,
    status: {
      conditions: [{ type: 'Ready', status: s.ready === false ? 'False' : 'True' }],
      ...(s.sentinelReady !== undefined ? { containerStatuses: [{ name: 'sentinel', ready: s.sentinelReady }] as any } : {}),
    },
  }));
}

describe('primaryStatus', () => {
  const r = resolved();
  it.each([
    [[{ role: 'replica' }, { role: 'primary' }, { role: 'replica' }], 'cache-1', 'True', 'PrimaryReady', 'cache-1 is the primary; 2 replicas linked.'],
    [[{ role: 'primary' }, { role: 'primary' }, { role: 'replica' }], undefined, 'False', 'MultiplePrimaries', 'Pods cache-0, cache-1 are all labelled primary and ready; <name>-primary sends writes to each of them. Sentinel demotes all but one; check each pod\'s role-agent log.'],
    [[{}, { role: 'replica' }, {}], undefined, 'False', 'NoPrimary', 'No pod is labelled redis.github.com/role=primary (pods: cache-0, cache-1, cache-2): writes through cache-primary fail.'],
    [[{ role: 'primary', ready: false }, { role: 'replica' }, { role: 'replica' }], 'cache-0', 'False', 'PrimaryNotReady', 'The pod labelled primary (cache-0) is not ready: writes fail until it is back or Sentinel promotes a replica.'],
    [[{ role: 'primary' }, { role: 'replica', ready: false }, { role: 'replica' }], 'cache-0', 'True', 'ReplicasNotLinked', 'cache-0 is the primary; cache-1 not ready (a replica is ready only while its link to the primary is up).'],
    [[{ role: 'primary', sentinelReady: true }, { role: 'replica', sentinelReady: false }, { role: 'replica', sentinelReady: false }], 'cache-0', 'True', 'NoSentinelQuorum', 'cache-0 is the primary, but only 1 Sentinel(s) are ready and the quorum is 2: a failover could not happen now.'],
  ] as const)('%j', (specs, primary, status, reason, message) => {
    const result = primaryStatus(r, pods(...specs));
    expect(result).toEqual({ ...(primary ? { primary } : {}), condition: { type: 'PrimaryAvailable', status, reason, message } });
  });

  it('ignores pods being deleted and pods of other names', () => {
    const list = pods({ role: 'primary' }, { role: 'primary' });
    list[1].metadata!.deletionTimestamp = new Date();
    list.push({ ...pods({ role: 'primary' })[0], metadata: { name: 'cache-x', labels: { 'redis.github.com/role': 'primary' } } });
    expect(primaryStatus(r, list).condition.reason).toBe('PrimaryReady');
  });
});

describe('roleLabelCorrections', () => {
  const r = resolved();
  it('labels pods without a role agent by their fixed configuration: pod 0 primary', () => {
    expect(roleLabelCorrections(r, pods({ agent: false }, { agent: false, role: 'primary' }, { agent: true }))).toEqual([
      { pod: 'cache-0', to: 'primary', why: 'no role agent: the role its configuration fixed (pod 0 primary)' },
      { pod: 'cache-1', from: 'primary', to: 'replica', why: 'no role agent: the role its configuration fixed (pod 0 primary)' },
    ]);
  });

  it('demotes a not-ready pod labelled primary when another one is the ready primary', () => {
    expect(roleLabelCorrections(r, pods({ role: 'primary', ready: false }, { role: 'primary' }, { role: 'replica' }))).toEqual([
      { pod: 'cache-0', from: 'primary', to: 'replica', why: 'not ready while cache-1 is the ready primary' },
    ]);
  });

  it('leaves what only Redis knows alone, and instances without failover', () => {
    expect(roleLabelCorrections(r, pods({}, { role: 'replica' }, { role: 'primary', ready: false }))).toEqual([]);
    expect(roleLabelCorrections(r, pods({ role: 'primary' }, { role: 'primary' }))).toEqual([]);
    expect(roleLabelCorrections(resolved({ failover: 'none' }), pods({ agent: false }, { agent: false }))).toEqual([]);
  });
});

describe('primaryMove', () => {
  const liveSts = (spec: Record<string, unknown>) => renderInstance(resolved(spec)).statefulSet;
  const three = liveSts({});
  const five = liveSts({ replicas: 5 });

  it('scaling 3 → 2 turns failover off, so the primary must be pod 0', () => {
    expect(primaryMove(resolved({ replicas: 2 }), three, pods({ role: 'replica' }, { role: 'replica' }, { role: 'primary' }))).toEqual({
      pod: 'cache-2', below: 1, why: 'failover is being turned off, and then pod 0 is the primary by configuration',
    });
    expect(primaryMove(resolved({ replicas: 2 }), three, pods({ role: 'replica' }, { role: 'primary' }, { role: 'replica' }))?.pod).toBe('cache-1');
    expect(primaryMove(resolved({ replicas: 2 }), three, pods({ role: 'primary' }, { role: 'replica' }, { role: 'replica' }))).toBeUndefined();
  });

  it('scaling 5 → 3 keeps failover: the primary must be below pod 3, and a pending request is reported', () => {
    const at = '2026-12-01T22:00:00Z';
    const p = pods({ role: 'replica' }, { role: 'replica' }, { role: 'replica' }, { role: 'primary', annotations: { 'redis.github.com/failover-requested': at } }, { role: 'replica' });
    expect(primaryMove(resolved({ replicas: 3 }), five, p)).toEqual({ pod: 'cache-3', below: 3, requestedAt: at, why: 'scaling from 5 to 3 removes cache-3' });
    expect(primaryMove(resolved({ replicas: 3 }), five, pods({ role: 'replica' }, { role: 'replica' }, { role: 'primary' }, {}, {}))).toBeUndefined();
  });

  it('needs no move without a primary label, when scaling up, or when the live pods have no failover', () => {
    expect(primaryMove(resolved({ replicas: 2 }), three, pods({}, {}, {}))).toBeUndefined();
    expect(primaryMove(resolved({ replicas: 5 }), three, pods({}, {}, { role: 'primary' }))).toBeUndefined();
    expect(primaryMove(resolved({ replicas: 2 }), liveSts({ failover: 'none' }), pods({}, {}, { role: 'primary' }))).toBeUndefined();
    expect(primaryMove(resolved({ replicas: 2 }), undefined, pods({}, {}, { role: 'primary' }))).toBeUndefined();
  });
});
