import { describe, expect, it } from 'vitest';
import { duplicateIssues, validateRedisInstance, type ValidationResult } from '../../src/api/validate';
import { redisInstanceCrd } from '../../src/api/crd';
import { MANAGED_CONFIG_KEYS, SECRET_CONFIG_KEYS } from '../../src/redis-conf/render';
import { AUTH_ONLY_CONFIG_KEYS, CLUSTER_CONFIG_PREFIX, MODULE_CONFIG_KEY } from '../../src/redis-conf/config-rules';

function manifest(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'cache', namespace: 'web' }) {
  return { apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata, spec: { image: 'redis:7.2.4', ...spec } };
}

/** The single issue's "path: message", failing if there is not exactly one. */
function only(result: ValidationResult): string {
  expect(result.ok).toBe(false);
  expect(result.issues.map(String)).toHaveLength(1);
  return `${result.issues[0].path}: ${result.issues[0].message}`;
}

describe('validateRedisInstance', () => {
  it('accepts a minimal instance and resolves the CRD defaults', () => {
    const result = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache' }, spec: { image: 'redis:7' } });
    expect(result.ok).toBe(true);
    expect(result.instance).toEqual({
      name: 'cache',
      namespace: 'default',
      spec: {
        image: 'redis:7', replicas: 1, storage: { size: '1Gi' }, config: {},
        networkPolicy: { enabled: true, metricsNamespace: 'monitoring', restrictEgress: false }, podAgent: false,
      },
    });
  });

  it('defaults auth.secretKey to "password" and rotationGracePeriodSeconds to 300', () => {
    const result = validateRedisInstance(manifest({ auth: { secretName: 'pw' } }));
    expect(result.instance?.spec.auth).toEqual({ secretName: 'pw', secretKey: 'password', rotationGracePeriodSeconds: 300 });
    const custom = validateRedisInstance(manifest({ auth: { secretName: 'pw', rotationGracePeriodSeconds: 0 } }));
    expect(custom.instance?.spec.auth?.rotationGracePeriodSeconds).toBe(0);
    const bad = validateRedisInstance(manifest({ auth: { secretName: 'pw', rotationGracePeriodSeconds: 86401 } }));
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad.issues)).toContain('rotationGracePeriodSeconds');
  });

  it('does not modify its input', () => {
    const input = manifest({});
    const before = structuredClone(input);
    validateRedisInstance(input);
    expect(input).toEqual(before);
  });

  describe('rejects, naming the object and the field', () => {
    it.each([
      ['missing image', { image: undefined }, 'spec.image: required field is missing'],
      ['empty image', { image: '' }, 'spec.image: must not be empty'],
      ['image with spaces', { image: 'redis 7' }, 'spec.image: must not contain whitespace, got "redis 7"'],
      ['replicas 0', { replicas: 0 }, 'spec.replicas: must be at least 1, got 0'],
      ['negative replicas', { replicas: -2 }, 'spec.replicas: must be at least 1, got -2'],
      ['fractional replicas', { replicas: 1.5 }, 'spec.replicas: must be an integer, got 1.5'],
      ['replicas as a string', { replicas: '3' }, 'spec.replicas: must be an integer, got "3"'],
      ['absurd replicas', { replicas: 1000 }, 'spec.replicas: must be at most 16, got 1000'],
      ['size not a quantity', { storage: { size: 'lots' } }, 'spec.storage.size: must be a Kubernetes quantity such as "1Gi" or "500Mi", got "lots"'],
      ['size with a unit typo', { storage: { size: '1GB' } }, 'spec.storage.size: must be a Kubernetes quantity such as "1Gi" or "500Mi", got "1GB"'],
      ['zero size', { storage: { size: '0Gi' } }, 'spec.storage.size: must be greater than zero, got "0Gi"'],
      ['negative size', { storage: { size: '-1Gi' } }, 'spec.storage.size: must be a Kubernetes quantity such as "1Gi" or "500Mi", got "-1Gi"'],
      ['invalid storage class', { storage: { storageClassName: 'Fast_SSD' } }, 'spec.storage.storageClassName: must be a valid Kubernetes name (lower-case letters, digits, \'-\' and \'.\'), got "Fast_SSD"'],
      ['newline in a config value', { config: { 'maxmemory-policy': 'allkeys-lru\nport 1' } }, 'spec.config[maxmemory-policy]: must not contain newlines or other control characters'],
      ['tab in a config value', { config: { hz: '1\t0' } }, 'spec.config.hz: must not contain newlines or other control characters'],
      ['newline in a config key', { config: { 'hz\nport': '10' } }, 'spec.config["hz\\nport"]: key must not contain newlines or other control characters'],
      ['upper-case config key', { config: { MaxMemory: '1mb' } }, 'spec.config.MaxMemory: key must be a lower-case redis.conf directive name (letters, digits and \'-\')'],
      ['a number as a config value', { config: { hz: 10 } }, 'spec.config.hz: must be a string, got 10'],
      ['dir', { config: { dir: '/tmp' } }, 'spec.config.dir: "dir" is managed by redis-gitops and cannot be set in config'],
      ['port', { config: { port: '6380' } }, 'spec.config.port: "port" is managed by redis-gitops and cannot be set in config'],
      ['include', { config: { include: '/etc/passwd' } }, 'spec.config.include: "include" is managed by redis-gitops and cannot be set in config'],
      ['rename-command', { config: { 'rename-command': 'PING ""' } }, 'spec.config[rename-command]: "rename-command" is managed by redis-gitops and cannot be set in config'],
      ['requirepass', { config: { requirepass: 'hunter2' } }, 'spec.config.requirepass: "requirepass" would put a secret in the ConfigMap; use spec.auth (a Secret) instead'],
      ['masterauth', { config: { masterauth: 'hunter2' } }, 'spec.config.masterauth: "masterauth" would put a secret in the ConfigMap; use spec.auth (a Secret) instead'],
      ['misspelled spec field', { replica: 2 }, 'spec.replica: unknown field (did you mean "replicas"?); known fields: image, replicas, resources, storage, config, failover, podAgent, sentinel, affinity, topologySpreadConstraints, auth, networkPolicy, metrics, tls'],
      ['misspelled nested field', { storage: { sise: '1Gi' } }, 'spec.storage.sise: unknown field (did you mean "size"?); known fields: size, storageClassName'],
      ['auth without secretName', { auth: { secretKey: 'pw' } }, 'spec.auth.secretName: required field is missing'],
      ['bad resource quantity', { resources: { limits: { memory: '1 GB' } } }, 'spec.resources.limits.memory: is not a valid Kubernetes quantity: "1 GB"'],
      ['resource quantity of the wrong type', { resources: { limits: { memory: true } } }, 'spec.resources.limits.memory: must be a Kubernetes quantity: a string such as "500m" or "1Gi", or a whole number; got true'],
      ['requests above limits', { resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } }, 'spec.resources.requests.memory: must be less than or equal to the memory limit (1Gi), got "2Gi"'],
    ])('%s', (_case, spec, expected) => {
      const result = validateRedisInstance(manifest(spec));
      expect(only(result)).toBe(expected);
      expect(result.issues[0].object).toBe('web/cache');
    });
  });

  it.each([
    ['upper case', 'Cache'],
    ['underscore', 'my_cache'],
    ['leading digit', '1cache'],
    ['too long', `c${'a'.repeat(52)}`],
  ])('rejects an invalid name (%s)', (_case, name) => {
    expect(only(validateRedisInstance(manifest({}, { name })))).toMatch(/^metadata\.name: must be a DNS-1035 label of at most 52 characters/);
  });

  it('rejects a missing name and an invalid namespace', () => {
    const result = validateRedisInstance(manifest({}, { namespace: 'Team A' }));
    expect(result.issues.map((i) => i.path)).toEqual(['metadata.name', 'metadata.namespace']);
  });

  it('rejects unknown metadata and top-level fields, and a status in the source', () => {
    const input = { ...manifest({}, { name: 'cache', lables: { a: 'b' } }), specs: {}, status: { phase: 'Running' } };
    const result = validateRedisInstance(input);
    expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'specs: unknown field (did you mean "spec"?)',
      'status: status is written by the reconciler; remove it from the source',
      'metadata.lables: unknown or server-set field (did you mean "labels"?); metadata may hold name, namespace, labels, annotations',
    ]);
  });

  it('accepts server-set metadata and status for objects read from the cluster', () => {
    const input = { ...manifest({}, { name: 'cache', namespace: 'web', uid: 'u', generation: 3 }), status: { phase: 'Running' } };
    expect(validateRedisInstance(input, { origin: 'cluster' }).ok).toBe(true);
  });

  it.each([
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, 'not a RedisInstance: apiVersion "v1" and kind "ConfigMap" (expected apiVersion redis.github.com/v1, kind RedisInstance)'],
    [{ apiVersion: 'redis.github.com/v2', kind: 'RedisInstance' }, 'not a RedisInstance: apiVersion "redis.github.com/v2" and kind "RedisInstance" (expected apiVersion redis.github.com/v1, kind RedisInstance)'],
    ['just a string', 'not a RedisInstance: expected an object with apiVersion redis.github.com/v1 and kind RedisInstance'],
    [[1, 2], 'not a RedisInstance: expected an object with apiVersion redis.github.com/v1 and kind RedisInstance'],
  ])('rejects a document that is not a RedisInstance: %j', (input, expected) => {
    expect(validateRedisInstance(input).issues.map((i) => i.message)).toEqual([expected]);
  });

  it('reports every problem at once, with file and line', () => {
    const result = validateRedisInstance(manifest({ image: '', replicas: 0, config: { port: '1' } }), {
      file: 'charts/instances/web.yaml',
      lineOf: (path) => 10 + path.length,
    });
    expect(result.issues.map(String)).toEqual([
      'charts/instances/web.yaml:12: RedisInstance web/cache: spec.image: must not be empty',
      'charts/instances/web.yaml:12: RedisInstance web/cache: spec.replicas: must be at least 1, got 0',
      'charts/instances/web.yaml:13: RedisInstance web/cache: spec.config.port: "port" is managed by redis-gitops and cannot be set in config',
    ]);
  });

  it('reports instances defined twice, naming where the first one is', () => {
    const a = validateRedisInstance(manifest({})).instance!;
    const issues = duplicateIssues([
      { instance: a, file: 'a.yaml', lineOf: () => 3 },
      { instance: { ...a, namespace: 'other' }, file: 'b.yaml' },
      { instance: a, file: 'c.yaml', lineOf: () => 7 },
    ]);
    expect(issues.map(String)).toEqual(['c.yaml:7: RedisInstance web/cache: metadata.name: defined more than once (first defined in a.yaml:3)']);
  });
});

describe('the CRD and the validation agree', () => {
  const version = redisInstanceCrd.spec.versions[0];
  const spec = version.schema.openAPIV3Schema.properties.spec;

  it('forbids in CEL exactly the config keys the validator forbids', () => {
    const rule: string = spec.properties.config['x-kubernetes-validations'][1].rule;
    const listed = [...rule.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]).sort();
    expect(listed).toEqual([...MANAGED_CONFIG_KEYS, ...SECRET_CONFIG_KEYS].sort());
  });

  it('refuses in CEL the cluster-* prefix and the auth-only keys, as the validator does', () => {
    const rules: string[] = spec.properties.config['x-kubernetes-validations'].map((r: any) => r.rule);
    expect(rules).toContain(`self.all(k, !k.startsWith('${CLUSTER_CONFIG_PREFIX}'))`);
    const [specRule] = spec['x-kubernetes-validations'].map((r: any) => r.rule);
    expect(specRule).toMatch(/^has\(self\.auth\) \|\| !has\(self\.config\) \|\| !self\.config\.exists\(k, k in \[.*\]\)$/);
    expect([...specRule.matchAll(/'([a-z-]+)'/g)].map((m) => m[1])).toEqual([...AUTH_ONLY_CONFIG_KEYS]);
    // loadmodule's allowlist is the chart's: the CRD cannot know it and does not refuse the key.
    expect(JSON.stringify(spec)).not.toContain(MODULE_CONFIG_KEY);
  });

  it('serves redis.github.com/v1 RedisInstance with the status subresource and printer columns', () => {
    expect(redisInstanceCrd.spec.group).toBe('redis.github.com');
    expect(redisInstanceCrd.spec.scope).toBe('Namespaced');
    expect(redisInstanceCrd.spec.names).toMatchObject({ kind: 'RedisInstance', plural: 'redisinstances', shortNames: ['redis'] });
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c: any) => `${c.name}=${c.jsonPath}`)).toEqual([
      'Phase=.status.phase', 'Ready=.status.ready', 'Replicas=.spec.replicas', 'Primary=.status.primary', 'Age=.metadata.creationTimestamp',
    ]);
    expect(version.schema.openAPIV3Schema.properties.status.properties.phase.enum).toEqual(
      ['Unknown', 'Creating', 'Pending', 'Running', 'Updating', 'Failed', 'Terminated'],
    );
  });

  it('is a structural schema: no additionalProperties next to properties, nothing preserved unknown', () => {
    const walk = (node: any, path: string): string[] => {
      if (!node || typeof node !== 'object') return [];
      const bad = node.properties && node.additionalProperties !== undefined ? [path] : [];
      if (node['x-kubernetes-preserve-unknown-fields']) bad.push(`${path} preserves unknown fields`);
      return [...bad, ...Object.entries(node).flatMap(([k, v]) => walk(v, `${path}/${k}`))];
    };
    expect(walk(version.schema.openAPIV3Schema, '')).toEqual([]);
  });
});
