import { V1ServicePort } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { atPath, diffObject, mergePatches, sameJson, type Field } from '../../src/reconcile/children';

describe('children: the diff helper', () => {
  it('sameJson: equal as JSON, whatever the key order, prototype or undefined-valued keys', () => {
    const port = Object.assign(new V1ServicePort(), { name: 'redis', port: 6379, protocol: undefined });
    expect(sameJson({ port: 6379, name: 'redis' }, port)).toBe(true);
    expect(sameJson([{ a: 1 }, 2], [{ a: 1 }, 2])).toBe(true);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(sameJson({ a: '1' }, { a: 1 })).toBe(false);
    expect(sameJson(undefined, {})).toBe(false);
  });

  it('diffObject: metadata, then each field, into exact reasons and one merge patch', () => {
    const fields: Field<{ metadata?: object; spec?: { size?: number; mode?: string } }>[] = [
      { field: 'spec.size', read: (o) => o.spec?.size ?? 1 },
      { field: 'spec.mode', read: (o) => o.spec?.mode ?? 'a', patch: (d) => ({ spec: { mode: d.spec?.mode ?? null } }) },
    ];
    const desired = { metadata: { labels: { app: 'redis' } }, spec: { size: 2 } };
    const live = { metadata: { labels: { app: 'redis', extra: 'x' } }, spec: { mode: 'b' } };
    expect(diffObject('Thing/x', desired, live, fields)).toEqual({
      reasons: [
        { object: 'Thing/x', field: 'spec.size', from: 1, to: 2 },
        { object: 'Thing/x', field: 'spec.mode', from: 'b', to: 'a' },
      ],
      patch: { spec: { size: 2, mode: null } },
    });
    expect(diffObject('Thing/x', desired, { ...live, spec: { size: 2 } }, fields)).toEqual({ reasons: [] });
  });

  it('atPath and mergePatches build nested merge patches', () => {
    expect(atPath('spec.template.metadata', { a: 1 })).toEqual({ spec: { template: { metadata: { a: 1 } } } });
    expect(mergePatches([{ spec: { a: 1, t: { x: 1 } } }, { spec: { b: 2, t: { y: null } } }, { metadata: { l: 'v' } }]))
      .toEqual({ spec: { a: 1, b: 2, t: { x: 1, y: null } }, metadata: { l: 'v' } });
  });
});
