import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRedisConf } from '../../src/redis-conf/render';
import {
  RedisServerNotFoundError, redisError, verifyConfLines, verifyRedisConfigs,
} from '../../src/redis-conf/verify';
import { makeTempDir, cleanupRedisPods, redisBinaries, shippedInstances } from '../support/redis';

/** verifyRedisConfigs: a real redis-server judges each rendered redis.conf. */

let redisServer: string;
beforeAll(() => { redisServer = redisBinaries().server; });
afterAll(cleanupRedisPods);

/** The 1-based line of `line` in a rendered config. */
function lineOf(conf: string, line: string): number {
  return conf.split('\n').indexOf(line) + 1;
}

function verifyDirs(): string[] {
  return readdirSync(tmpdir()).filter((d) => d.startsWith('redis-gitops-verify-'));
}

describe('verifyConfLines', () => {
  it('remaps dir, port and the runtime include one for one and appends the socket, so line numbers stay', () => {
    const conf = renderRedisConf({ hz: '20' });
    const checked = verifyConfLines(conf, { dataDir: '/t/data', runtimeConf: '/t/runtime.conf', socket: '/t/redis.sock', pidFile: '/t/redis.pid' });
    const before = conf.split('\n');
    const after = checked.split('\n');
    expect(after.slice(0, before.length - 1).filter((line, i) => line !== before[i])).toEqual([
      'dir "/t/data"', 'port 0', 'include "/t/runtime.conf"',
    ]);
    expect(after.slice(before.length - 1)).toEqual(['unixsocket "/t/redis.sock"', 'unixsocketperm 700', 'pidfile "/t/redis.pid"', '']);
  });
});

describe('verifyRedisConfigs', () => {
  it('accepts the defaults and every shipped example', async () => {
    const configs = [
      { instance: 'test/defaults', redisConf: renderRedisConf() },
      ...shippedInstances().map((e) => ({ instance: e.instance, redisConf: e.configMap.data!['redis.conf'] })),
    ];
    const results = await verifyRedisConfigs(configs, { redisServer });
    expect(results).toEqual(configs.map(({ instance }) => ({ instance, ok: true })));
  });

  it.each([
    ['maxmemory-policy', 'nonsense', /argument\(s\) must be one of the following: .*allkeys-lru/],
    ['save', 'abc', /Invalid save parameters/],
    ['no-such-directive', 'yes', /Bad directive or wrong number of arguments/],
    ['maxmemory', 'lots', /argument must be a memory value/],
    ['appendfsync', 'sometimes', /argument\(s\) must be one of the following: .*everysec/],
  ])('reports Redis\'s own error for %s %j, with the line of the rendered redis.conf', async (key, value, message) => {
    const redisConf = renderRedisConf({ [key]: value, hz: '20' });
    const [result] = await verifyRedisConfigs([{ instance: 'web/bad', redisConf }], { redisServer });
    expect(result.instance).toBe('web/bad');
    expect(result.ok).toBe(false);
    expect(result.error).toContain('*** FATAL CONFIG FILE ERROR');
    expect(result.error).toContain(`at line ${lineOf(redisConf, `${key} ${value}`)}`);
    expect(result.error).toContain(`>>> '${key} ${value}'`);
    expect(result.error).toMatch(message);
  });

  it('starts each distinct config once and gives its result to every instance that shares it', async () => {
    // A redis-server that logs each start, then runs the real one.
    const dir = makeTempDir('verify-test-');
    const log = join(dir, 'starts.log');
    const wrapper = join(dir, 'redis-server');
    writeFileSync(wrapper, `#!/bin/sh\necho start >> '${log}'\nexec '${redisServer}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const good = renderRedisConf({ hz: '20' });
    const bad = renderRedisConf({ 'maxmemory-policy': 'nonsense' });
    const results = await verifyRedisConfigs([
      { instance: 'a/one', redisConf: good },
      { instance: 'b/two', redisConf: bad },
      { instance: 'c/three', redisConf: good },
      { instance: 'd/four', redisConf: bad },
    ], { redisServer: wrapper });
    expect(results.map((r) => [r.instance, r.ok])).toEqual([['a/one', true], ['b/two', false], ['c/three', true], ['d/four', false]]);
    expect(results[3].error).toBe(results[1].error);
    expect(readFileSync(log, 'utf8')).toBe('start\nstart\n');
  });

  it('listens on no TCP port and leaves no temp folder or process behind', async () => {
    const before = verifyDirs();
    // `port 0` plus a unix socket: were a TCP port opened, Redis would log "Running mode=standalone, port=...".
    const dir = makeTempDir('verify-test-');
    const log = join(dir, 'output.log');
    const wrapper = join(dir, 'redis-server');
    writeFileSync(wrapper, `#!/bin/sh\nexec '${redisServer}' "$@" > '${log}' 2>&1\n`);
    chmodSync(wrapper, 0o755);
    const [result] = await verifyRedisConfigs([{ instance: 'a/one', redisConf: renderRedisConf() }], { redisServer: wrapper, timeoutMs: 5_000 });
    // The wrapper swallows the output, so only PING over the socket can have made it ok.
    expect(result).toEqual({ instance: 'a/one', ok: true });
    const output = readFileSync(log, 'utf8');
    expect(output).toMatch(/port=0\b/);
    expect(verifyDirs()).toEqual(before);
    const pid = /pid=(\d+)/.exec(output)?.[1];
    expect(pid).toBeDefined();
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('extracts the FATAL CONFIG FILE ERROR block from what Redis printed', () => {
    expect(redisError('noise\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n>>> \'save abc\'\nInvalid save parameters\n'))
      .toBe('*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n>>> \'save abc\'\nInvalid save parameters');
  });

  it('fails a server that never answers, within timeoutMs', async () => {
    const dir = makeTempDir('verify-test-');
    const sleeper = join(dir, 'redis-server');
    writeFileSync(sleeper, '#!/bin/sh\necho starting\nexec sleep 30\n');
    chmodSync(sleeper, 0o755);
    const started = Date.now();
    const [result] = await verifyRedisConfigs([{ instance: 'a/slow', redisConf: renderRedisConf() }], { redisServer: sleeper, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.ok).toBe(false);
    expect(result.error).toBe('redis-server did not answer PING within 300 ms:\nstarting');
  });

  it('throws RedisServerNotFoundError when redis-server cannot be run', async () => {
    await expect(verifyRedisConfigs([{ instance: 'a/one', redisConf: renderRedisConf() }], { redisServer: '/nonexistent/redis-server' }))
      .rejects.toBeInstanceOf(RedisServerNotFoundError);
  });

  it('reports a config that redis-gitops did not render instead of guessing', async () => {
    const [result] = await verifyRedisConfigs([{ instance: 'a/one', redisConf: 'port 6379\n' }], { redisServer });
    expect(result).toEqual({ instance: 'a/one', ok: false, error: 'not a redis.conf rendered by redis-gitops: line "dir /data" not found in redis.conf' });
  });

  it('checks nothing for no configs', async () => {
    expect(await verifyRedisConfigs([], { redisServer })).toEqual([]);
  });
});
