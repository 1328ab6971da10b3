import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main';
import { PACKAGE_VERSION } from '../../src/version';
import { captureIO } from '../support/cli';

describe('redis-gitops CLI', () => {
  it('prints the package version', async () => {
    const io = captureIO();
    expect(await run(['--version'], io)).toBe(0);
    expect(io.out.join('')).toBe(`${PACKAGE_VERSION}\n`);
    expect(PACKAGE_VERSION).toBe(require('../../package.json').version);
  });

  it('exits 2 on bad usage, with the error on stderr', async () => {
    const io = captureIO();
    expect(await run(['--no-such-flag'], io)).toBe(2);
    expect(io.err.join('')).toContain("unknown option '--no-such-flag'");
    expect(io.out).toEqual([]);
  });
});
