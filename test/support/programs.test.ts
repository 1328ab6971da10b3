import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PACKAGE_LIST, installHint, programPackages, requireProgram } from './programs';

describe('.ci/packages.txt, the one list of Debian packages the tests need', () => {
  it('maps each program to its package, ignoring comments and blank lines', () => {
    const map = programPackages('# comment\n\nredis-tools   redis-cli redis-benchmark  # why\nbusybox busybox\n');
    expect([...map]).toEqual([['redis-cli', 'redis-tools'], ['redis-benchmark', 'redis-tools'], ['busybox', 'busybox']]);
  });

  it('lists the programs the Redis tests run', () => {
    const map = programPackages();
    for (const program of ['redis-server', 'redis-cli', 'busybox']) expect(map.get(program), program).toBeTruthy();
  });

  it('a missing program fails with the package that provides it, not a skip', () => {
    expect(() => requireProgram('busybox', '/nonexistent')).toThrow(
      'busybox not found on PATH: apt-get install busybox (Debian package busybox, listed in .ci/packages.txt; .ci/run installs it)');
    expect(() => installHint('no-such-program')).toThrow('not listed in .ci/packages.txt');
  });

  it('.ci/run installs from this list', () => {
    expect(readFileSync(PACKAGE_LIST.replace(/packages\.txt$/, 'run'), 'utf8')).toContain('.ci/packages.txt');
  });
});
