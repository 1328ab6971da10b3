import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { AOF_MIGRATION_TIMEOUT_SECONDS } from '../../src/render/instance';
import {
  InitContainerError, cleanupRedisPods, connect, eventually, makeTempDir, podSpec, redisBinaries, renderSpec,
  secretsFor, shippedInstances, startRedisPod, type RedisPod,
} from '../support/redis';
import { requireProgram } from '../support/programs';
import { tlsSecretsFor } from '../support/tls';

/**
 * With `appendonly yes`, the init container turns an RDB-only data volume into an AOF before
 * the redis container starts (Redis with AOF on and no AOF would ignore dump.rdb and start
 * empty). These tests start pods on a volume an RDB-only pod wrote, and check that the
 * step does nothing when there is nothing to convert.
 */

beforeAll(() => { redisBinaries(); });
afterEach(cleanupRedisPods);

const MIGRATING = 'writing the AOF from it before Redis starts with appendonly yes';

async function writeData(client: Redis): Promise<void> {
  const pipeline = client.pipeline();
  for (let i = 0; i < 1000; i++) pipeline.set(`key:${i}`, `value-${i}`);
  pipeline.hset('hash', { a: '1', b: '2' });
  await pipeline.exec();
}

async function expectData(client: Redis): Promise<void> {
  expect(await client.dbsize()).toBe(1001);
  expect(await client.get('key:999')).toBe('value-999');
  expect(await client.hgetall('hash')).toEqual({ a: '1', b: '2' });
}

/** A data volume written by an RDB-only pod (`appendonly no`), stopped as the kubelet does. */
async function rdbOnlyVolume(config: Record<string, string> = {}): Promise<string> {
  const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4', config: { appendonly: 'no', ...config } }), 0);
  await writeData(await connect(pod));
  expect(await pod.stop()).toEqual({ code: 0, signal: null });
  return pod.dataDir;
}

/** Every file under `dir`, relative, with its size and mtime: to show that nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d).sort()) {
      const stat = statSync(join(d, name));
      if (stat.isDirectory()) walk(join(d, name), `${prefix}${name}/`);
      else out[`${prefix}${name}`] = `${stat.size} ${stat.mtimeMs}`;
    }
  };
  walk(dir, '');
  return out;
}

/** The process exists and is not a zombie (an orphan waits for PID 1 to reap it). */
function running(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

function initStderr(pod: RedisPod): string {
  return pod.init.map((run) => run.stderr).join('');
}

describe('RDB-only volume → appendonly yes', () => {
  it('uses the configured dbfilename, appenddirname and appendfilename', async () => {
    const names = { dbfilename: 'cache.rdb', appenddirname: 'aof', appendfilename: 'cache.aof' };
    const dataDir = await rdbOnlyVolume({ dbfilename: names.dbfilename });
    expect(existsSync(join(dataDir, 'cache.rdb'))).toBe(true);
    const rendered = renderSpec({ image: 'redis:7.2.4', config: names });
    expect(podSpec(rendered.statefulSet).initContainers![0].env).toEqual(expect.arrayContaining([
      { name: 'RDB_FILENAME', value: 'cache.rdb' }, { name: 'AOF_DIRNAME', value: 'aof' }, { name: 'AOF_FILENAME', value: 'cache.aof' },
    ]));
    const pod = await startRedisPod(rendered, 0, { dataDir });
    expect(initStderr(pod)).toContain(MIGRATING);
    await expectData(await connect(pod));
    expect(existsSync(join(dataDir, 'aof', 'cache.aof.manifest'))).toBe(true);
    expect(existsSync(join(dataDir, 'appendonlydir'))).toBe(false);
    // The temporary server's socket is gone with it.
    expect(readdirSync(join(pod.root, 'volumes', 'runtime'))).toEqual(['runtime.conf']);
  });

  it.each([
    ['yes ', '"my cache.rdb"', "'my aof'", '"my\\x20cache.aof"'],
    [' "YES"', "'d.rdb'", '"aof"', 'a.aof'],
  ])('reads appendonly %j and the file names as Redis does (dbfilename %s)', async (appendonly, dbfilename, appenddirname, appendfilename) => {
    // Redis 7.0 reads `appendonly "yes "` and ` "YES"` as yes: without the step, the data would be gone.
    const dataDir = await rdbOnlyVolume({ dbfilename });
    const rdb = dbfilename.replace(/^["']|["']$/g, '');
    expect(existsSync(join(dataDir, rdb))).toBe(true);
    const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4', config: { appendonly, dbfilename, appenddirname, appendfilename } }), 0, { dataDir });
    expect(initStderr(pod)).toContain(MIGRATING);
    const client = await connect(pod);
    await expectData(client);
    const dir = appenddirname.replace(/^["']|["']$/g, '');
    const aof = appendfilename.replace(/^["']|["']$/g, '').replace('\\x20', ' ');
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'appendfilename')).toEqual(['appendfilename', aof]);
    expect(existsSync(join(dataDir, dir, `${aof}.manifest`))).toBe(true);
  });

  it('the shipped Alpine example web/cache converts the volume under busybox ash, and its probes pass there', async () => {
    const cache = shippedInstances().find((e) => e.instance === 'web/cache')!;
    expect(cache.redisInstance.spec.image).toMatch(/alpine/);
    const dataDir = await rdbOnlyVolume();
    // web/cache serves TLS: a certificate made with openssl in its Secret.
    const pod = await startRedisPod(cache, 0, { dataDir, shell: 'busybox', secrets: tlsSecretsFor(cache.statefulSet, makeTempDir('redis-ca-')) });
    expect(initStderr(pod)).toContain(MIGRATING);
    await expectData(await connect(pod, { tls: pod.tls }));
    for (const kind of ['readiness', 'liveness'] as const) expect(await pod.runProbe(kind), kind).toMatchObject({ exitCode: 0 });
  });

  it('with a password (shop/sessions): the data is there, and no argument list holds the password', async () => {
    const sessions = shippedInstances().find((e) => e.instance === 'shop/sessions')!;
    const token = `tok${randomBytes(8).toString('hex')}`;
    const password = `${token} "quoted" \\ and\n`;
    const dataDir = await rdbOnlyVolume();
    const pod = await startRedisPod(sessions, 0, { dataDir, secrets: secretsFor(sessions.statefulSet, password), recordExecs: true });
    expect(initStderr(pod)).toContain(MIGRATING);
    await expectData(await connect(pod, { password }));
    const log = pod.execLog();
    expect(log).toMatch(/\/bin\/redis-cli -s \S+\/aof-migration\.sock config set appendonly yes/);
    expect(log).not.toContain(token);
  });

  it('a corrupt RDB file stops the pod in its init container, which says why and leaves the file as it was', async () => {
    const dataDir = makeTempDir('redis-corrupt-');
    writeFileSync(join(dataDir, 'dump.rdb'), 'not an RDB file\n');
    const error = await startRedisPod(renderSpec({ image: 'redis:7.2.4' }), 0, { dataDir }).catch((e) => e);
    expect(error).toBeInstanceOf(InitContainerError);
    expect(error.run.stderr).toContain('redis-gitops: AOF migration failed: redis-server exited while loading dump.rdb');
    expect(readFileSync(join(dataDir, 'dump.rdb'), 'utf8')).toBe('not an RDB file\n');
    expect(existsSync(join(dataDir, 'appendonlydir', 'appendonly.aof.manifest'))).toBe(false);
  });
});

describe('nothing to convert: the step does nothing', () => {
  it('on a new volume (no RDB file)', async () => {
    const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4' }), 0);
    expect(initStderr(pod)).toBe('');
    expect(await (await connect(pod)).dbsize()).toBe(0);
  });

  it('when the AOF exists, even if dump.rdb holds other data (the AOF wins, as in Redis)', async () => {
    // No save points: dump.rdb is only what SAVE wrote, older than the AOF.
    const rendered = renderSpec({ image: 'redis:7.2.4', config: { save: '' } });
    const first = await startRedisPod(rendered, 0);
    const client = await connect(first);
    await client.set('k', 'in dump.rdb');
    expect(await client.save()).toBe('OK');
    await client.set('k', 'in the AOF');
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    const before = snapshot(first.dataDir);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['dump.rdb', 'appendonlydir/appendonly.aof.manifest']));

    const second = await startRedisPod(rendered, 0, { dataDir: first.dataDir });
    expect(initStderr(second)).toBe('');
    expect(await (await connect(second)).get('k')).toBe('in the AOF');
    expect(snapshot(first.dataDir)['dump.rdb']).toBe(before['dump.rdb']);
  });

  it('when a pre-7.0 AOF file (appendfilename in the data folder) exists', async () => {
    const dataDir = await rdbOnlyVolume();
    const legacy = ['SELECT', '0', 'SET', 'k', 'from the old AOF'];
    writeFileSync(join(dataDir, 'appendonly.aof'), '*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n'
      + `*3\r\n${legacy.slice(2).map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4' }), 0, { dataDir });
    expect(initStderr(pod)).toBe('');
    const client = await connect(pod);
    expect(await client.get('k')).toBe('from the old AOF');
    expect(await client.dbsize()).toBe(1); // Redis loads the AOF, not dump.rdb
  });

  it('with appendonly no: the step is not rendered and the init container does not mount the data volume', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', config: { appendonly: 'no' } });
    const init = podSpec(rendered.statefulSet).initContainers![0];
    expect(init.command![2]).not.toContain('redis-server');
    expect(init.volumeMounts!.map((m) => m.mountPath)).toEqual(['/run/redis']);
    const pod = await startRedisPod(rendered, 0, { dataDir: await rdbOnlyVolume() });
    await expectData(await connect(pod));
    expect(existsSync(join(pod.dataDir, 'appendonlydir'))).toBe(false);
  });
});

describe('bounded waits', () => {
  // The rendered init script, run directly with stand-ins: a redis-server that never
  // finishes loading, and a redis-cli that says so.
  for (const shell of ['sh', 'busybox'] as const) {
    it(`gives up after AOF_MIGRATION_TIMEOUT_SECONDS, says why and stops the server (${shell})`, async () => {
      expect(AOF_MIGRATION_TIMEOUT_SECONDS).toBeGreaterThanOrEqual(600);
      const root = makeTempDir('redis-timeout-');
      const bin = join(root, 'bin');
      const data = join(root, 'data');
      for (const dir of [bin, data]) mkdirSync(dir);
      writeFileSync(join(data, 'dump.rdb'), 'REDIS0009');
      const pidFile = join(root, 'server.pid');
      const script = (name: string, body: string) => {
        writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
        chmodSync(join(bin, name), 0o755);
      };
      script('redis-server', `echo $$ > '${pidFile}'\nexec sleep 60`);
      script('redis-cli', 'echo "LOADING Redis is loading the dataset in memory"');
      if (shell === 'busybox') {
        const busybox = requireProgram('busybox', '/usr/bin:/bin');
        for (const applet of ['sh', 'sed', 'mv', 'sleep']) symlinkSync(busybox, join(bin, applet));
      }
      const init = podSpec(renderSpec({ image: 'redis:7.2.4' }).statefulSet).initContainers![0];
      const env: Record<string, string> = { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, RUNTIME_CONF: join(root, 'runtime.conf') };
      for (const e of init.env!) if (e.value !== undefined) env[e.name] = e.value;
      Object.assign(env, { POD_NAME: 'cache-0', DATA_DIR: data, AOF_MIGRATION_TIMEOUT_SECONDS: '1' });

      const started = Date.now();
      const result = spawnSync('sh', init.command!.slice(1), { env, encoding: 'utf8', timeout: 20_000 });
      expect(result.status, result.stderr).toBe(1);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.stderr).toContain('redis-gitops: AOF migration failed: redis-server did not load dump.rdb within 1 s');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      await eventually('the stand-in server to be stopped', async () => !running(pid));
    });
  }
});
