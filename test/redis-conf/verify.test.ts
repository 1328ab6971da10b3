import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRedisConf } from '../../src/redis-conf/render';
import {
  CHECK_OVERRIDES, RedisServerNotFoundError, redisError, verifyConfLines, verifyRedisConfigs,
} from '../../src/redis-conf/verify';
import { makeTempDir, cleanupRedisPods, redisBinaries, shippedInstances } from '../support/redis';
import { requireProgram } from '../support/programs';

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
  it('remaps dir, port and the runtime include one for one, and puts the socket in the runtime include, so line numbers stay', () => {
    const conf = renderRedisConf({ hz: '20' });
    const checked = verifyConfLines(conf, { dataDir: '/t/data', runtimeConf: '/t/runtime.conf', socket: '/t/redis.sock', pidFile: '/t/redis.pid' });
    const before = conf.split('\n');
    const after = checked.redisConf.split('\n');
    expect(after).toHaveLength(before.length);
    expect(after.filter((line, i) => line !== before[i])).toEqual(['dir "/t/data"', 'port 0', 'include "/t/runtime.conf"']);
    expect(checked.runtimeConf).toBe('dir "/t/data"\nunixsocket "/t/redis.sock"\nunixsocketperm 700\npidfile "/t/redis.pid"\n');
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

describe('the sandbox: the check loads no module and writes nothing outside its temp folder', () => {
  const paths = { dataDir: '/t/data', runtimeConf: '/t/runtime.conf', socket: '/t/redis.sock', pidFile: '/t/redis.pid' };

  it('comments out loadmodule in place and puts in the runtime include the neutral value of each outward-acting directive the file sets', () => {
    const conf = renderRedisConf({ loadmodule: '/opt/m.so', 'syslog-enabled': 'yes', 'cluster-enabled': 'yes', hz: '20' });
    const checked = verifyConfLines(conf, paths);
    expect(checked.redisConf.split('\n')[lineOf(conf, 'loadmodule /opt/m.so') - 1]).toBe('# loadmodule: never loaded by the check');
    expect(checked.runtimeConf.split('\n')).toEqual([
      'dir "/t/data"', 'unixsocket "/t/redis.sock"', 'unixsocketperm 700', 'pidfile "/t/redis.pid"', 'cluster-enabled no', 'syslog-enabled no', '',
    ]);
    // Directives are matched as Redis reads them: any case, quoted.
    expect(verifyConfLines(conf.replace('loadmodule /opt/m.so', '"LoadModule" /opt/m.so'), paths).redisConf).not.toContain('/opt/m.so');
  });

  it('never loads a module: a module whose constructor writes a file runs under redis-server, not under the check', async () => {
    const gcc = requireProgram('gcc');
    const dir = makeTempDir('verify-module-');
    const marker = join(dir, 'constructor-ran');
    writeFileSync(join(dir, 'm.c'), `#include <stdio.h>\n__attribute__((constructor)) static void run(void) { FILE *f = fopen("${marker}", "w"); if (f) fclose(f); }\n`);
    await promisify(execFile)(gcc, ['-shared', '-fPIC', '-o', join(dir, 'm.so'), join(dir, 'm.c')]);
    const redisConf = renderRedisConf({ loadmodule: join(dir, 'm.so') });

    const [result] = await verifyRedisConfigs([{ instance: 'web/module', redisConf }], { redisServer });
    expect(result).toEqual({ instance: 'web/module', ok: true });
    expect(existsSync(marker)).toBe(false);

    // The same line given to redis-server itself runs the constructor: the test can fail.
    // (It then exits: the file exports no RedisModule_OnLoad.)
    await promisify(execFile)(redisServer, ['--port', '0', '--unixsocket', join(dir, 's.sock'), '--loadmodule', join(dir, 'm.so')], { cwd: dir, timeout: 5_000 })
      .catch(() => undefined);
    expect(existsSync(marker)).toBe(true);
  });

  it('creates no file outside its temp folder, whatever path-like directives the config sets', async () => {
    const outside = makeTempDir('verify-outside-');
    const redisConf = renderRedisConf({
      logfile: join(outside, 'redis.log'),
      pidfile: join(outside, 'redis.pid'),
      unixsocket: join(outside, 'redis.sock'),
      'cluster-enabled': 'yes',
      'cluster-config-file': join(outside, 'nodes.conf'),
      aclfile: join(outside, 'users.acl'),
      'syslog-enabled': 'yes',
      daemonize: 'yes',
      supervised: 'systemd',
      'oom-score-adj': 'yes',
      'tls-port': '16390',
      save: '1 1',
      appendonly: 'yes',
    });
    // Redis itself refuses replicaof in cluster mode, so it gets a config of its own.
    const replica = renderRedisConf({ replicaof: '192.0.2.1 6379', logfile: join(outside, 'replica.log') });
    const before = verifyDirs();
    const results = await verifyRedisConfigs([{ instance: 'web/paths', redisConf }, { instance: 'web/replica', redisConf: replica }], { redisServer });
    expect(results).toEqual([{ instance: 'web/paths', ok: true }, { instance: 'web/replica', ok: true }]);
    expect(readdirSync(outside)).toEqual([]);
    expect(verifyDirs()).toEqual(before);
  });

  it('dbfilename ../../x and other paths for data files: Redis refuses them, the check names the line and key, and nothing is written', async () => {
    const outside = makeTempDir('verify-outside-');
    const escapes = [
      ['dbfilename', `../../${outside.split('/').pop()}/x.rdb`, "dbfilename can't be a path, just a filename"],
      ['appenddirname', '../../x', "appenddirname can't be a path, just a dirname"],
      ['appendfilename', `${outside}/x.aof`, "appendfilename can't be a path, just a filename"],
    ];
    const configs = escapes.map(([key, value]) => ({ instance: `web/${key}`, redisConf: renderRedisConf({ [key]: value, save: '1 1' }) }));
    const results = await verifyRedisConfigs(configs, { redisServer });
    escapes.forEach(([key, value, message], i) => {
      expect(results[i]).toMatchObject({ ok: false, directive: key, line: lineOf(configs[i].redisConf, `${key} ${value}`) });
      expect(results[i].error).toContain(message);
    });
    expect(readdirSync(outside)).toEqual([]);
  });

  it('a second dir line (only a hand-made redis.conf has one) does not move the data files out', async () => {
    const outside = makeTempDir('verify-outside-');
    const redisConf = renderRedisConf({ appendonly: 'yes', save: '1 1' }).replace('dir /data\n', `dir /data\ndir ${outside}\n`);
    const [result] = await verifyRedisConfigs([{ instance: 'web/dir', redisConf }], { redisServer });
    expect(result).toEqual({ instance: 'web/dir', ok: true });
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses to run a config that includes another file, before starting any server', async () => {
    const redisConf = renderRedisConf({ include: '/etc/hostname' });
    const [result] = await verifyRedisConfigs([{ instance: 'web/include', redisConf }], { redisServer: '/nonexistent/redis-server' });
    expect(result).toEqual({
      instance: 'web/include',
      ok: false,
      error: `not checked: line ${lineOf(redisConf, 'include /etc/hostname')} includes another file (include /etc/hostname); the check reads no file but the runtime include`,
    });
  });

  it('refuses a config with a NUL byte, which would join two lines into one for Redis (e.g. "loadmodul\\0" + "e x.so")', () => {
    const conf = renderRedisConf({ 'loadmodul\0': '', e: '/opt/m.so' });
    expect(() => verifyConfLines(conf, paths)).toThrow(`line ${lineOf(conf, 'loadmodul\0 ""')} holds a NUL byte, which Redis would read differently`);
  });

  it('has an override for each outward-acting directive of Redis 7.0 config.c', () => {
    expect(Object.keys(CHECK_OVERRIDES).sort()).toEqual([
      'aclfile', 'cluster-enabled', 'daemonize', 'logfile', 'oom-score-adj', 'replicaof', 'slaveof', 'supervised', 'syslog-enabled', 'tls-port',
    ]);
  });
});
