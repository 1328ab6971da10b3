import { describe, expect, it } from 'vitest';
import { formatPath, validateRedisInstance } from '../../src/api/validate';
import { MAX_QUOTED_LENGTH, quote } from '../../src/api/quote';

function manifest(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'cache', namespace: 'web' }) {
  return { apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata, spec: { image: 'redis:7.2.4', ...spec } };
}

describe('values quoted in validation messages are bounded', () => {
  it('quote() cuts at 80 characters with an ellipsis and never walks more than it shows', () => {
    expect(quote('x'.repeat(200))).toBe(`"${'x'.repeat(78)}…`);
    expect(quote('short')).toBe('"short"');
    expect(quote({ a: [1, 2], b: null })).toBe('{"a":[1,2],"b":null}');
    // A value that aliases would expand to 9^30 strings: shared, so cheap to build, and to quote.
    let shared: unknown = ['lol'];
    for (let i = 0; i < 30; i++) shared = Array(9).fill(shared);
    expect(quote(shared)).toHaveLength(MAX_QUOTED_LENGTH);
    expect(quote(shared).endsWith('…')).toBe(true);
  });

  it.each([
    ['metadata.name', manifest({}, { name: 'N'.repeat(1_000_000) })],
    ['spec.storage.size', manifest({ storage: { size: `1 Gi${'x'.repeat(1_000_000)}` } })],
    ['spec.replicas', manifest({ replicas: Array(100_000).fill('many') })],
    ['apiVersion', { ...manifest({}), apiVersion: 'v'.repeat(1_000_000) }],
  ])('a huge value in %s', (field, input) => {
    const { issues } = validateRedisInstance(input);
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) expect(String(issue).length).toBeLessThan(400);
    expect(issues.some((i) => i.path === (field === 'apiVersion' ? '' : field))).toBe(true);
  });

  it('a huge config key is cut in the field path', () => {
    const { issues } = validateRedisInstance(manifest({ config: { [`K${'k'.repeat(100_000)}`]: 'v' } }));
    expect(issues.map(String)).toEqual([`RedisInstance web/cache: spec.config["K${'k'.repeat(78)}…"]: key must be a lower-case redis.conf directive name (letters, digits and '-')`]);
    expect(formatPath(['spec', 'x'.repeat(100)])).toBe(`spec["${'x'.repeat(79)}…"]`);
  });
});

describe('values of secret-like keys are never echoed', () => {
  it.each([
    ['requirepass as a number', { config: { requirepass: 84736251 } }, 'spec.config.requirepass: must be a string, got a number (value not shown: the key may hold a secret)'],
    ['masterauth as a number', { config: { masterauth: 1234567 } }, 'spec.config.masterauth: must be a string, got a number (value not shown: the key may hold a secret)'],
    ['a user line as a list', { config: { user: ['default on >pw'] } }, 'spec.config.user: must be a string, got a list (value not shown: the key may hold a secret)'],
    ['a *-pass key as a map', { config: { 'sentinel-auth-pass': { pw: 'x' } } }, 'spec.config[sentinel-auth-pass]: must be a string, got a map (value not shown: the key may hold a secret)'],
    ['a *token* key as a boolean', { config: { 'api-token': true } }, 'spec.config[api-token]: must be a string, got a boolean (value not shown: the key may hold a secret)'],
  ])('%s', (_case, spec, expected) => {
    const { issues } = validateRedisInstance(manifest(spec));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([expected]);
  });

  it('in metadata: secret-like annotation and label keys', () => {
    const { issues } = validateRedisInstance(manifest({}, {
      name: 'cache',
      annotations: { 'example.com/password': 99887766 },
      labels: { 'example.com/secret': 'has spaces 55443322' },
    }));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'metadata.labels[example.com/secret]: is not a valid label value (a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character), got a string (value not shown: the key may hold a secret)',
      'metadata.annotations[example.com/password]: must be a string, got a number (value not shown: the key may hold a secret)',
    ]);
  });

  it('other keys still show their value, bounded', () => {
    const { issues } = validateRedisInstance(manifest({ config: { hz: 10 } }));
    expect(issues.map((i) => i.message)).toEqual(['must be a string, got 10']);
  });
});
