import { describe, expect, it } from 'vitest';
import { compareQuantities, isQuantity, parseQuantity, quantitiesEqual } from '../../src/api/quantity';

describe('quantities', () => {
  it.each([
    ['1Gi', '1024Mi'],
    ['1Ki', '1024'],
    ['500m', '0.5'],
    ['1e3', '1k'],
    ['1.5Gi', '1536Mi'],
    [2, '2'],
    ['1M', '1000k'],
  ])('%s equals %s', (a, b) => {
    expect(quantitiesEqual(a, b)).toBe(true);
  });

  it.each([
    ['1Gi', '1G'],
    ['1Mi', '1M'],
    ['100m', '0.01'],
  ])('%s differs from %s', (a, b) => {
    expect(quantitiesEqual(a, b)).toBe(false);
  });

  it('orders quantities by amount, not by text', () => {
    expect(compareQuantities('2Gi', '1500Mi')).toBeGreaterThan(0);
    expect(compareQuantities('900Mi', '1Gi')).toBeLessThan(0);
    expect(compareQuantities('1Ti', '1024Gi')).toBe(0);
  });

  it('parses exactly into nano-units, rounding fractions up', () => {
    expect(parseQuantity('1')).toBe(1_000_000_000n);
    expect(parseQuantity('1n')).toBe(1n);
    expect(parseQuantity('0.1n')).toBe(1n);
    expect(parseQuantity('-1m')).toBe(-1_000_000n);
    expect(parseQuantity('1Ei')).toBe(2n ** 60n * 1_000_000_000n);
  });

  it.each(['', 'abc', '1GB', '1 Gi', 'Gi', '1.2.3', '--1'])('rejects %j', (text) => {
    expect(isQuantity(text)).toBe(false);
    expect(parseQuantity(text)).toBeUndefined();
  });

  it('treats a missing quantity as equal only to another missing one', () => {
    expect(quantitiesEqual(undefined, undefined)).toBe(true);
    expect(quantitiesEqual('1Gi', undefined)).toBe(false);
  });
});
