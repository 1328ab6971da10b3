import { describe, expect, it } from 'vitest';
import { changedLines, inSyncMessage, reasonValue, summarize } from '../../src/reconcile/format';

describe('format: reasons and plan messages as text', () => {
  it('summarize: field old → new, a whole object by its name, hashes shortened', () => {
    expect(summarize([
      { object: 'StatefulSet/cache', field: 'spec.replicas', from: 1, to: 3 },
      { object: 'StatefulSet/cache', field: 'spec.template', from: 'a'.repeat(64), to: 'b'.repeat(64) },
      { object: 'StatefulSet/cache', field: 'spec.template.metadata.annotations[redis.github.com/secret-hash]' },
      { object: 'Service/cache', field: '', to: 'created' },
    ])).toBe('spec.replicas 1 → 3; spec.template aaaaaaaaaaaa → bbbbbbbbbbbb; spec.template.metadata.annotations[redis.github.com/secret-hash] changed; Service/cache (none) → created');
  });

  it('reasonValue: absent, strings as they are, everything else as JSON', () => {
    expect([undefined, 'x', 3, { a: 1 }, ['b']].map(reasonValue)).toEqual(['(none)', 'x', '3', '{"a":1}', '["b"]']);
  });

  it('changedLines: the redis.conf lines only before and only after, comments left out', () => {
    expect(changedLines('# a\nport 1\nmaxmemory 1mb\n', '# b\nport 1\nmaxmemory 2mb\nappendonly yes\n'))
      .toEqual(['maxmemory 1mb', 'maxmemory 2mb; appendonly yes']);
  });

  it('inSyncMessage: in sync, or the other writes', () => {
    expect(inSyncMessage([], [])).toBe('in sync');
    expect(inSyncMessage(
      [{ verb: 'patch', kind: 'ConfigMap', name: 'cache', patch: {}, reasons: [] }],
      [{ name: 'redis-data-cache-0', from: '1Gi', to: '2Gi' }],
    )).toBe('StatefulSet in sync; patch ConfigMap/cache, expand PersistentVolumeClaim/redis-data-cache-0 1Gi → 2Gi');
  });
});
