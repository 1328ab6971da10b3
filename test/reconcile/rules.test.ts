import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decisionTable } from '../../src/reconcile/format';
import { ACTION_PRECEDENCE, RULES, decide, type Rule, type RuleInput } from '../../src/reconcile/rules';

const DOCS = join(__dirname, '../../docs/reconciler.md');

describe('rules: the StatefulSet decision table', () => {
  it('is the table in docs/reconciler.md, row for row', () => {
    const docs = readFileSync(DOCS, 'utf8');
    const table = /<!-- decision-table:begin[^>]*-->\n([\s\S]*?)\n<!-- decision-table:end -->/.exec(docs)?.[1];
    // On a mismatch, paste the expected table between the markers.
    expect(table).toBe(decisionTable(RULES));
  });

  it('lists the rules strongest action first, so the first difference decides', () => {
    const ranks = RULES.map((r) => ACTION_PRECEDENCE.indexOf(r.action));
    expect(ranks.every((rank) => rank >= 0)).toBe(true);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });

  it('names each field once', () => {
    expect(new Set(RULES.map((r) => r.field)).size).toBe(RULES.length);
  });
});

describe('decide: precedence over any list of rules', () => {
  const input: RuleInput = { object: 'StatefulSet/x', desired: {}, storage: { size: '1Gi' }, auth: false, claims: [] };
  const rule = (field: string, action: Rule['action'], differs: boolean): Rule => {
    const base = { field, compared: '', check: () => (differs ? [{ object: 'StatefulSet/x', field }] : []) };
    if (action === 'rolling-update') return { ...base, action, patch: () => ({ spec: { [field]: 1 } }) };
    if (action === 'refuse') return { ...base, action, message: () => `refused by ${field}` };
    return { ...base, action };
  };

  it('no difference: none', () => {
    expect(decide(input, [rule('a', 'refuse', false), rule('b', 'rolling-update', false)])).toEqual({ action: 'none', reasons: [], cause: [] });
  });

  it('refuse reports only the first refusing rule', () => {
    expect(decide(input, [rule('a', 'refuse', false), rule('b', 'refuse', true), rule('c', 'refuse', true), rule('d', 'recreate', true)])).toEqual({
      action: 'refuse', reasons: [{ object: 'StatefulSet/x', field: 'b' }], cause: [{ object: 'StatefulSet/x', field: 'b' }], message: 'refused by b',
    });
  });

  it('recreate reports the rolling-update differences too, and the recreate ones as the cause', () => {
    const decision = decide(input, [rule('a', 'recreate', true), rule('b', 'recreate', false), rule('c', 'rolling-update', true)]);
    expect(decision).toEqual({
      action: 'recreate',
      reasons: [{ object: 'StatefulSet/x', field: 'a' }, { object: 'StatefulSet/x', field: 'c' }],
      cause: [{ object: 'StatefulSet/x', field: 'a' }],
    });
  });

  it('rolling-update merges the patches of every rule that differs', () => {
    const decision = decide(input, [rule('a', 'recreate', false), rule('b', 'rolling-update', true), rule('c', 'rolling-update', false), rule('d', 'rolling-update', true)]);
    expect(decision).toEqual({
      action: 'rolling-update',
      reasons: [{ object: 'StatefulSet/x', field: 'b' }, { object: 'StatefulSet/x', field: 'd' }],
      cause: [{ object: 'StatefulSet/x', field: 'b' }, { object: 'StatefulSet/x', field: 'd' }],
      patch: { spec: { b: 1, d: 1 } },
    });
  });
});
