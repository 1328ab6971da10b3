import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_STATUS_ANNOTATION, MAX_CONFIG_STATUS_BYTES, configStatusAnnotation, configStatusPatch, readConfigStatusFile,
} from '../../src/role-agent/config-status';
import { makeTempDir } from '../support/redis';

const HASH = 'c'.repeat(64);

describe('configStatusAnnotation', () => {
  it('is the first line, tabs kept, other control characters as spaces', () => {
    expect(configStatusAnnotation(`config=${HASH}\tauth=current\n`)).toBe(`config=${HASH}\tauth=current`);
    expect(configStatusAnnotation(`config=${HASH}\trefused=hz ERR\x1b[31m\r\nsecond line`)).toBe(`config=${HASH}\trefused=hz ERR [31m`);
    expect(configStatusAnnotation('')).toBeUndefined();
    expect(configStatusAnnotation('\n')).toBeUndefined();
  });

  it('is at most MAX_CONFIG_STATUS_BYTES, cut at a field boundary', () => {
    const refusals = Array.from({ length: 40 }, (_, i) => `refused=key${i} ${'e'.repeat(200)}`);
    const value = configStatusAnnotation([`config=${HASH}`, ...refusals].join('\t'))!;
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(MAX_CONFIG_STATUS_BYTES);
    expect(value.startsWith(`config=${HASH}\trefused=key0 `)).toBe(true);
    expect(value.split('\t').every((f) => f.startsWith('config=') || /^refused=key\d+ e{200}$/.test(f))).toBe(true);
    expect(configStatusAnnotation('x'.repeat(MAX_CONFIG_STATUS_BYTES + 1))).toBeUndefined();
  });

  it('withholds a line that carries the password', () => {
    expect(configStatusAnnotation(`config=${HASH}\trefused=hz ERR s3cret-pw`, ['s3cret-pw'])).toBeUndefined();
    expect(configStatusAnnotation(`config=${HASH}`, ['s3cret-pw', undefined])).toBe(`config=${HASH}`);
  });

  it('patches only that annotation', () => {
    expect(configStatusPatch('config=x')).toEqual({ metadata: { annotations: { [CONFIG_STATUS_ANNOTATION]: 'config=x' } } });
  });
});

describe('readConfigStatusFile', () => {
  it('reads at most one byte past the limit, and undefined when there is no file yet', () => {
    const dir = makeTempDir('config-status-');
    expect(readConfigStatusFile(join(dir, 'agent-status'))).toBeUndefined();
    writeFileSync(join(dir, 'agent-status'), 'y'.repeat(1 << 20));
    expect(readConfigStatusFile(join(dir, 'agent-status'))).toHaveLength(MAX_CONFIG_STATUS_BYTES + 1);
    writeFileSync(join(dir, 'agent-status'), `config=${HASH}\n`);
    expect(readConfigStatusFile(join(dir, 'agent-status'))).toBe(`config=${HASH}\n`);
  });
});
