import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/render/instance';

/** The definition canonicalJson must match: JSON.stringify of a copy with every object's keys sorted. */
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const v = value as Record<string, unknown> & { toJSON?: () => unknown };
  if (typeof v.toJSON === 'function') return sortedCopy(v.toJSON());
  if (Array.isArray(v)) return v.map(sortedCopy);
  // fromEntries defines own properties ("__proto__" included), as JSON.parse does.
  return Object.fromEntries(Object.keys(v).sort().map((key) => [key, sortedCopy(v[key])]));
}

describe('canonicalJson', () => {
  it('is JSON.stringify of the key-sorted value, for any JSON-like value (escapes, index-like keys, undefined, dates)', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('0', '1', '10', '2', '01', '-1', '4294967295', 'a"b', 'é', '\u2028'));
    const leaf = fc.oneof(
      fc.string(), fc.fullUnicodeString(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined),
      fc.date({ noInvalidDate: true }),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(key, tie('node'))),
    })).node;
    fc.assert(fc.property(tree, (value) => {
      expect(canonicalJson(value)).toBe(JSON.stringify(sortedCopy(value)));
    }), { numRuns: 2000 });
  });
});
