import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { singleConfArg, splitConfArgs, yesNo } from '../../src/redis-conf/args';
import { renderRedisConf } from '../../src/redis-conf/render';
import { verifyConfLines } from '../../src/redis-conf/verify';
import { cleanupRedisPods, makeTempDir, onCleanup, redisBinaries } from '../support/redis';

/**
 * The tokenizer reads a value exactly as redis-server does: each spelling below is
 * rendered into redis.conf, started with the real server, and CONFIG GET must return
 * what splitConfArgs says (or Redis must refuse the line when splitConfArgs does).
 */

let redisServer: string;
beforeAll(() => { redisServer = redisBinaries().server; });
afterAll(cleanupRedisPods);

const text = (value: string) => {
  const split = splitConfArgs(value);
  return split.ok ? split.args.map((a) => a.toString('latin1')) : split.error;
};

/** [value as written in spec.config, the arguments Redis reads (bytes as latin1), or the refusal]. */
const SPELLINGS: ReadonlyArray<readonly [string, readonly string[] | RegExp]> = [
  ['plain', ['plain']],
  ['"double"', ['double']],
  ["'single'", ['single']],
  ['"a b"', ['a b']],
  ["'a b'", ['a b']],
  ['  leading', ['leading']],
  ['trailing   ', ['trailing']],
  ['a"b c"', ['ab c']],
  ['"esc\\n\\t\\r\\b\\a\\\\\\"\\x41\\q"', ['esc\n\t\r\b\x07\\"Aq']],
  ['"\\x4g"', ['x4g']],
  ['"\\xe2\\x80\\xa8"', ['\xe2\x80\xa8']],
  ["'it\\'s'", ["it's"]],
  ["'back\\slash \\n'", ['back\\slash \\n']],
  ['back\\ slash', ['back\\', 'slash']],
  ['""', ['']],
  ["''", ['']],
  ['café', ['caf\xc3\xa9']],
  ['a\u2028b', ['a\xe2\x80\xa8b']],
  ['a\u0085b', ['a\xc2\x85b']],
  ['"unbalanced', /unbalanced quotes/],
  ["'unbalanced", /unbalanced quotes/],
  ['"closed"then', /closing quote must be followed by a space/],
  ["'closed'then", /closing quote must be followed by a space/],
  ['"trailing backslash\\', /unbalanced quotes/],
];

describe('splitConfArgs', () => {
  it.each(SPELLINGS)('splits %j', (value, expected) => {
    if (expected instanceof RegExp) expect(text(value)).toMatch(expected);
    else expect(text(value)).toEqual(expected);
  });

  it('splits at every C isspace between arguments, but only at space, \\t, \\n, \\r inside an unquoted one', () => {
    expect(text('\v\fa\vb\tc\nd\re')).toEqual(['a\vb', 'c', 'd', 'e']);
    expect(text('"q"\v"r"')).toEqual(['q', 'r']);
    expect(text('')).toEqual([]);
    expect(text('   ')).toEqual([]);
  });

  it('singleConfArg gives the one argument as text; yesNo is case-insensitive like yesnotoi', () => {
    expect(singleConfArg('"my file.rdb"')).toBe('my file.rdb');
    expect(singleConfArg('two args')).toBeUndefined();
    expect(singleConfArg('"\\xff"')).toBeUndefined();
    expect(singleConfArg('"\\xc3\\xa9"')).toBe('é');
    expect(['yes', 'YES', 'Yes', 'no', 'NO', 'yes ', 'y', 'yeſ'].map(yesNo)).toEqual([true, true, true, false, false, undefined, undefined, undefined]);
  });
});

/** Start redis-server on the rendered redis.conf for `config` (the check's sandbox), return a client or Redis's refusal. */
async function startWith(config: Record<string, string>): Promise<{ client: Redis } | { refused: string }> {
  const root = makeTempDir('args-test-');
  const paths = { dataDir: root, runtimeConf: join(root, 'runtime.conf'), socket: join(root, 's.sock'), pidFile: join(root, 'pid') };
  const checked = verifyConfLines(renderRedisConf(config), paths);
  writeFileSync(paths.runtimeConf, checked.runtimeConf);
  const conf = join(root, 'redis.conf');
  writeFileSync(conf, checked.redisConf);
  const child = spawn(redisServer, [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => { output += c.toString('latin1'); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString('latin1'); });
  onCleanup(async () => { child.kill('SIGKILL'); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 500; i++) {
    if (child.exitCode !== null) break;
    const client = new Redis({ path: paths.socket, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      onCleanup(async () => { client.disconnect(); });
      return { client };
    } catch {
      client.disconnect();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10))]);
    }
  }
  await exited;
  return { refused: output };
}

async function configGet(client: Redis, key: string): Promise<string> {
  const reply = (await client.callBuffer('CONFIG', 'GET', key)) as Buffer[];
  return reply[1].toString('latin1');
}

describe('redis-server reads every spelling as splitConfArgs does', () => {
  it.each(SPELLINGS)('syslog-ident %j', async (value, expected) => {
    const started = await startWith({ 'syslog-ident': value });
    if (expected instanceof RegExp) {
      expect('refused' in started && started.refused).toMatch(/Unbalanced quotes in configuration line/);
    } else if (expected.length !== 1) {
      expect('refused' in started && started.refused).toMatch(/wrong number of arguments/);
    } else {
      expect('client' in started).toBe(true);
      expect(await configGet((started as { client: Redis }).client, 'syslog-ident')).toBe(expected[0]);
    }
  });

  it.each([
    ['yes', 'yes'], ['YES', 'yes'], ['yes ', 'yes'], [' "yes"', 'yes'], ["'Yes'", 'yes'], ['"no"', 'no'], ['NO', 'no'],
  ])('appendonly %j is %s', async (value, expected) => {
    expect(yesNo(singleConfArg(value)!)).toBe(expected === 'yes');
    const started = await startWith({ appendonly: value });
    expect(await configGet((started as { client: Redis }).client, 'appendonly')).toBe(expected);
  });

  it.each([['"my dump.rdb"', 'my dump.rdb'], ["'d.rdb'", 'd.rdb'], ['"\\x64.rdb"', 'd.rdb']])('dbfilename %j is %j', async (value, expected) => {
    expect(singleConfArg(value)).toBe(expected);
    const started = await startWith({ dbfilename: value });
    expect(await configGet((started as { client: Redis }).client, 'dbfilename')).toBe(expected);
  });
});
