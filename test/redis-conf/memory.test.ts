import { describe, expect, it } from 'vitest';
import { validateRedisInstance } from '../../src/api/validate';
import {
  MAXMEMORY_LIMIT_PERCENT, derivedMemoryConfig, maxmemoryForLimit, memoryLimitBytes, redisMemoryBytes,
} from '../../src/redis-conf/memory';
import { instanceRedisConf } from '../../src/render/instance';
import { synthesize } from '../../src/synth/synthesize';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function manifest(spec: Record<string, unknown>) {
  return { apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: 'web' }, spec: { image: 'redis:7.2.4', ...spec } };
}

describe('maxmemory from the memory limit', () => {
  it('is 70% of the limit', () => {
    expect(MAXMEMORY_LIMIT_PERCENT).toBe(70n);
  });

  it.each([
    // limit, its bytes, maxmemory (70%, rounded down)
    ['128Mi', 134_217_728n, '93952409'],
    ['1Gi', 1_073_741_824n, '751619276'],
    ['1.5Gi', 1_610_612_736n, '1127428915'],
    ['512M', 512_000_000n, '358400000'],
    ['2G', 2_000_000_000n, '1400000000'],
    ['1000001', 1_000_001n, '700000'],
    [1_000_000, 1_000_000n, '700000'],
    ['1e9', 1_000_000_000n, '700000000'],
  ] as const)('limit %j (%d bytes) gives maxmemory %s', (limit, bytes, maxmemory) => {
    const resources = { limits: { memory: limit } };
    expect(memoryLimitBytes(resources)).toBe(bytes);
    expect(String(maxmemoryForLimit(bytes))).toBe(maxmemory);
    expect(derivedMemoryConfig({ resources, config: {} })).toEqual({ maxmemory });
    const result = validateRedisInstance(manifest({ resources }));
    expect(result.ok).toBe(true);
    expect(instanceRedisConf(result.instance!).split('\n')).toContain(`maxmemory ${maxmemory}`);
  });

  it('leaves a user maxmemory alone, and adds none without a memory limit', () => {
    expect(derivedMemoryConfig({ resources: { limits: { memory: '1Gi' } }, config: { maxmemory: '100mb' } })).toEqual({});
    expect(derivedMemoryConfig({ resources: { requests: { memory: '1Gi' } }, config: {} })).toEqual({});
    expect(derivedMemoryConfig({ config: {} })).toEqual({});
    const result = validateRedisInstance(manifest({ resources: { limits: { memory: '1Gi' } }, config: { maxmemory: '100mb' } }));
    const lines = instanceRedisConf(result.instance!).split('\n');
    expect(lines.filter((l) => l.startsWith('maxmemory '))).toEqual(['maxmemory 100mb']);
  });
});

describe('redis.conf memory values, as Redis reads them', () => {
  it.each([
    ['0', 0n], ['1000', 1000n], ['1b', 1n], ['1k', 1000n], ['1kb', 1024n], ['1m', 1_000_000n], ['1mb', 1_048_576n],
    ['1g', 1_000_000_000n], ['1gb', 1_073_741_824n], ['400MB', 419_430_400n], ['"2gb"', 2_147_483_648n],
  ] as const)('%s is %d bytes', (value, bytes) => {
    expect(redisMemoryBytes(value)).toBe(bytes);
  });
  it.each(['', '1.5gb', '1 gb', '-1', '1tb', '1Gi', 'lots'])('%j is refused', (value) => {
    expect(redisMemoryBytes(value)).toBeUndefined();
  });
});

describe('validation', () => {
  it('refuses a maxmemory above the memory limit, naming both', () => {
    const result = validateRedisInstance(manifest({ resources: { limits: { memory: '512Mi' } }, config: { maxmemory: '600mb' } }));
    expect(result.ok).toBe(false);
    expect(result.issues.map(String)).toEqual([
      'RedisInstance web/cache: spec.config.maxmemory: 600mb (629145600 bytes) is above the memory limit spec.resources.limits.memory 512Mi '
      + '(536870912 bytes): the container would be OOM-killed before Redis evicts; lower it, or remove it to get 70% of the limit (375809638 bytes)',
    ]);
  });

  it('accepts a maxmemory equal to the limit', () => {
    expect(validateRedisInstance(manifest({ resources: { limits: { memory: '512Mi' } }, config: { maxmemory: '512mb' } })).ok).toBe(true);
  });

  it('refuses a maxmemory Redis would not read', () => {
    const result = validateRedisInstance(manifest({ config: { maxmemory: '1.5gb' } }));
    expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.config.maxmemory: must be a Redis memory value (a whole number of bytes, or with a unit b, k, kb, m, mb, g, gb such as "512mb"), got "1.5gb"',
    ]);
  });

  it('warns about a replicated instance with neither a memory limit nor maxmemory', () => {
    const warned = validateRedisInstance(manifest({ replicas: 2 }));
    expect(warned.ok).toBe(true);
    expect(warned.ok && warned.warnings.map(String)).toEqual([
      'RedisInstance web/cache: spec.resources.limits.memory: a replicated instance (replicas: 2) has no memory limit and no config.maxmemory: '
      + "Redis grows without bound and a replica's full sync needs extra memory on the primary; set a memory limit (maxmemory becomes 70% of it) or maxmemory",
    ]);
    for (const spec of [{ replicas: 1 }, { replicas: 2, config: { maxmemory: '1gb' } }, { replicas: 2, resources: { limits: { memory: '1Gi' } } }]) {
      const result = validateRedisInstance(manifest(spec));
      expect(result.ok && result.warnings, JSON.stringify(spec)).toEqual([]);
    }
  });

  it('synth prints the warning with file and line, and still writes dist/', () => {
    const dir = mkdtempSync(join(tmpdir(), 'memory-warning-'));
    writeFileSync(join(dir, 'r.yaml'), 'apiVersion: redis.github.com/v1\nkind: RedisInstance\nmetadata:\n  name: big\n  namespace: web\nspec:\n  image: redis:7.2.4\n  replicas: 3\n');
    const result = synthesize({ instanceDirs: [dir], displayRoot: dir });
    expect(result.issues).toEqual([]);
    expect(result.files.has('instances/web/big.yaml')).toBe(true);
    expect(result.warnings.map(String)).toEqual([expect.stringMatching(/^r\.yaml:6: RedisInstance web\/big: spec\.resources\.limits\.memory: a replicated instance \(replicas: 3\)/)]);
  });
});
