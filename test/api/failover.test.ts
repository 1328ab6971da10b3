import { describe, expect, it } from 'vitest';
import { validateRedisInstance, type ValidationResult } from '../../src/api/validate';
import { redisInstanceCrd } from '../../src/api/crd';

function manifest(spec: Record<string, unknown>) {
  return { apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'sessions', namespace: 'shop' }, spec: { image: 'redis:7.2.4', ...spec } };
}

function issues(result: ValidationResult): string[] {
  expect(result.ok).toBe(false);
  return result.issues.map(String);
}

describe('spec.failover', () => {
  it('defaults to sentinel from 3 replicas, with a majority quorum and the Sentinel defaults', () => {
    expect(validateRedisInstance(manifest({ replicas: 3 })).instance?.spec.failover)
      .toEqual({ mode: 'sentinel', quorum: 2, downAfterMilliseconds: 5000, failoverTimeoutMilliseconds: 60000 });
    expect(validateRedisInstance(manifest({ replicas: 4 })).instance?.spec.failover?.quorum).toBe(3);
    expect(validateRedisInstance(manifest({ replicas: 5 })).instance?.spec.failover?.quorum).toBe(3);
    expect(validateRedisInstance(manifest({ replicas: 16 })).instance?.spec.failover?.quorum).toBe(9);
  });

  it('is absent below 3 replicas and when turned off', () => {
    for (const spec of [{}, { replicas: 2 }, { replicas: 3, failover: 'none' }, { replicas: 1, failover: 'none' }]) {
      const result = validateRedisInstance(manifest(spec));
      expect(result.ok).toBe(true);
      expect(result.instance!.spec).not.toHaveProperty('failover');
    }
  });

  it('takes the Sentinel timings from spec.sentinel', () => {
    const result = validateRedisInstance(manifest({ replicas: 3, failover: 'sentinel', sentinel: { downAfterMilliseconds: 2000, failoverTimeoutMilliseconds: 30000 } }));
    expect(result.instance?.spec.failover).toEqual({ mode: 'sentinel', quorum: 2, downAfterMilliseconds: 2000, failoverTimeoutMilliseconds: 30000 });
  });

  it.each([
    [{ replicas: 2, failover: 'sentinel' }, "RedisInstance shop/sessions: spec.failover: failover sentinel needs replicas >= 3, got replicas 2: two Sentinels cannot reach a majority when the primary's pod dies (docs/failover.md); set replicas to 3 or more, or failover to none"],
    [{ failover: 'sentinel' }, "RedisInstance shop/sessions: spec.failover: failover sentinel needs replicas >= 3, got replicas 1: two Sentinels cannot reach a majority when the primary's pod dies (docs/failover.md); set replicas to 3 or more, or failover to none"],
    [{ replicas: 3, failover: 'raft' }, 'RedisInstance shop/sessions: spec.failover: must be one of "sentinel", "none", got "raft"'],
    [{ replicas: 2, sentinel: {} }, 'RedisInstance shop/sessions: spec.sentinel: applies only with failover sentinel, but failover defaults to none with replicas 2; remove spec.sentinel or set failover: sentinel (replicas >= 3)'],
    [{ replicas: 3, failover: 'none', sentinel: { downAfterMilliseconds: 3000 } }, 'RedisInstance shop/sessions: spec.sentinel: applies only with failover sentinel, but failover is none; remove spec.sentinel or set failover: sentinel (replicas >= 3)'],
    [{ replicas: 3, sentinel: { downAfterMilliseconds: 999 } }, 'RedisInstance shop/sessions: spec.sentinel.downAfterMilliseconds: must be at least 1000, got 999'],
    [{ replicas: 3, sentinel: { downAfterMilliseconds: 600001 } }, 'RedisInstance shop/sessions: spec.sentinel.downAfterMilliseconds: must be at most 600000, got 600001'],
    [{ replicas: 3, sentinel: { downAfterMilliseconds: 1500.5 } }, 'RedisInstance shop/sessions: spec.sentinel.downAfterMilliseconds: must be an integer, got 1500.5'],
    [{ replicas: 3, sentinel: { failoverTimeoutMilliseconds: 4999 } }, 'RedisInstance shop/sessions: spec.sentinel.failoverTimeoutMilliseconds: must be at least 5000, got 4999'],
    [{ replicas: 3, sentinel: { failoverTimeoutMilliseconds: 3600001 } }, 'RedisInstance shop/sessions: spec.sentinel.failoverTimeoutMilliseconds: must be at most 3600000, got 3600001'],
    [{ replicas: 3, sentinel: { downAfterMiliseconds: 3000 } }, 'RedisInstance shop/sessions: spec.sentinel.downAfterMiliseconds: unknown field (did you mean "downAfterMilliseconds"?); known fields: downAfterMilliseconds, failoverTimeoutMilliseconds'],
  ])('refuses %j', (spec, message) => {
    expect(issues(validateRedisInstance(manifest(spec)))).toEqual([message]);
  });
});

describe('spec.podAgent', () => {
  it('defaults to on with failover and off without', () => {
    expect(validateRedisInstance(manifest({ replicas: 3 })).instance?.spec.podAgent).toBe(true);
    expect(validateRedisInstance(manifest({ replicas: 3, failover: 'none' })).instance?.spec.podAgent).toBe(false);
    expect(validateRedisInstance(manifest({})).instance?.spec.podAgent).toBe(false);
    expect(validateRedisInstance(manifest({ podAgent: true })).instance?.spec.podAgent).toBe(true);
    expect(validateRedisInstance(manifest({ replicas: 3, podAgent: true })).instance?.spec.podAgent).toBe(true);
  });

  it.each([
    [{ replicas: 3, podAgent: false }, 'RedisInstance shop/sessions: spec.podAgent: false is refused because failover defaults to sentinel with replicas 3: the pod agent keeps the role labels that the primary Service follows (docs/failover.md); remove podAgent, or set failover: none'],
    [{ replicas: 5, failover: 'sentinel', podAgent: false }, 'RedisInstance shop/sessions: spec.podAgent: false is refused because failover is sentinel: the pod agent keeps the role labels that the primary Service follows (docs/failover.md); remove podAgent, or set failover: none'],
    [{ podAgent: 'yes' }, 'RedisInstance shop/sessions: spec.podAgent: must be a boolean, got "yes"'],
  ])('refuses %j', (spec, message) => {
    expect(issues(validateRedisInstance(manifest(spec)))).toEqual([message]);
  });
});

describe('spec.affinity and spec.topologySpreadConstraints', () => {
  const antiAffinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'redis' } } }] } };
  const spread = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }];

  it('keeps them as written, {} and [] included', () => {
    expect(validateRedisInstance(manifest({ replicas: 3, affinity: antiAffinity, topologySpreadConstraints: spread })).instance?.spec)
      .toMatchObject({ affinity: antiAffinity, topologySpreadConstraints: spread });
    const none = validateRedisInstance(manifest({ replicas: 3, affinity: {}, topologySpreadConstraints: [] })).instance!.spec;
    expect(none.affinity).toEqual({});
    expect(none.topologySpreadConstraints).toEqual([]);
  });

  it.each([
    [{ affinity: { podAntiAfinity: {} } }, 'spec.affinity.podAntiAfinity: unknown field (did you mean "podAntiAffinity"?); known fields: nodeAffinity, podAffinity, podAntiAffinity'],
    [{ affinity: { podAntiAffinity: { preferredDuringScheduling: [] } } }, 'spec.affinity.podAntiAffinity.preferredDuringScheduling: unknown field; known fields: requiredDuringSchedulingIgnoredDuringExecution, preferredDuringSchedulingIgnoredDuringExecution'],
    [{ affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 101, podAffinityTerm: { topologyKey: 'zone' } }] } } }, 'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: must be at most 100, got 101'],
    [{ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {} }] } } }, 'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: required field is missing'],
    [{ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'Within' }] }] } } } }, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator: must be one of "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", got "Within"'],
    [{ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabel: {} } }] }, 'spec.topologySpreadConstraints[0].labelSelector.matchLabel: unknown field (did you mean "matchLabels"?); known fields: matchLabels, matchExpressions'],
    [{ affinity: { podAntiAffinity: [] } }, 'spec.affinity.podAntiAffinity: must be an object, got []'],
    [{ topologySpreadConstraints: {} }, 'spec.topologySpreadConstraints: must be an array, got {}'],
    [{ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone' }] }, 'spec.topologySpreadConstraints[0].whenUnsatisfiable: required field is missing'],
    [{ topologySpreadConstraints: [{ ...spread[0], maxSkew: 0 }] }, 'spec.topologySpreadConstraints[0].maxSkew: must be at least 1, got 0'],
    [{ topologySpreadConstraints: [{ ...spread[0], whenUnsatisfiable: 'Never' }] }, 'spec.topologySpreadConstraints[0].whenUnsatisfiable: must be one of "DoNotSchedule", "ScheduleAnyway", got "Never"'],
    [{ topologySpreadConstraints: Array.from({ length: 9 }, () => spread[0]) }, 'spec.topologySpreadConstraints: must have at most 8 items'],
  ])('refuses %j', (spec, message) => {
    const result = validateRedisInstance(manifest({ replicas: 3, ...spec }));
    expect(issues(result)).toEqual([`RedisInstance shop/sessions: ${message}`]);
  });
});

describe('the CRD', () => {
  const version = (redisInstanceCrd as any).spec.versions[0];
  const spec = version.schema.openAPIV3Schema.properties.spec;

  it('states the failover rules in CEL on spec, as the validator does', () => {
    expect(spec['x-kubernetes-validations'].map((v: any) => v.rule).filter((r: string) => /failover|sentinel/.test(r))).toEqual([
      "!has(self.failover) || self.failover != 'sentinel' || self.replicas >= 3",
      "!has(self.sentinel) || (has(self.failover) ? self.failover == 'sentinel' : self.replicas >= 3)",
      "!has(self.podAgent) || self.podAgent || (has(self.failover) ? self.failover != 'sentinel' : self.replicas < 3)",
    ]);
    expect(spec.properties.podAgent.type).toBe('boolean');
    expect(spec.properties.sentinel.properties.downAfterMilliseconds).toMatchObject({ minimum: 1000, maximum: 600000, default: 5000 });
    expect(spec.properties.sentinel.properties.failoverTimeoutMilliseconds).toMatchObject({ minimum: 5000, maximum: 3600000, default: 60000 });
  });

  it('prints the primary pod', () => {
    expect(version.additionalPrinterColumns).toContainEqual({ name: 'Primary', type: 'string', jsonPath: '.status.primary' });
    expect(version.schema.openAPIV3Schema.properties.status.properties.primary.type).toBe('string');
  });
});

describe('TLS with failover', () => {
  it('is valid: Sentinel, the pod scripts and the role agent speak TLS too (docs/failover.md, TLS)', () => {
    const base = { image: 'redis:7.2.4', tls: { secretName: 'cache-tls' } };
    const result = (spec: object) => validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: 'web' }, spec });
    const sentinel = result({ ...base, replicas: 3 });
    expect(sentinel.issues).toEqual([]);
    expect(sentinel.instance?.spec.failover?.mode).toBe('sentinel');
    expect(result({ ...base, replicas: 3, tls: { ...base.tls, allowPlaintext: true, authClients: true } }).issues).toEqual([]);
    expect(result({ ...base, replicas: 3, failover: 'none' }).issues).toEqual([]);
  });
});
