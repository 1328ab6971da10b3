/**
 * The role agent against real redis-server and redis-sentinel processes and the test API
 * server: the label follows the role within seconds, `<name>-primary`'s selector matches
 * exactly the primary's pod, and a failover request moves the primary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateRedisInstance } from '../../src/api/validate';
import { renderInstance, selectorLabels, FAILOVER_REQUESTED_ANNOTATION, ROLE_LABEL } from '../../src/render/instance';
import { runRoleAgent } from '../../src/role-agent/agent';
import { CONFIG_STATUS_ANNOTATION } from '../../src/role-agent/config-status';
import { sendCommand } from '../../src/role-agent/resp';
import { startTestApiServer, type TestApiServer } from '../support/apiserver';
import { matchesLabelSelector } from '../support/apiserver/selectors';
import { cleanupRedisPods, eventually, freePort, makeTempDir, onCleanup } from '../support/redis';
import { requireProgram } from '../support/programs';

const NS = 'shop';
const NAME = 'sessions';
const ROOT = join(__dirname, '..', '..');

let server: TestApiServer;
let kubeConfig: KubeConfig;
const stops: AbortController[] = [];

beforeEach(async () => {
  server = await startTestApiServer();
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(server.kubeconfigYaml());
  const resolved = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: NAME, namespace: NS }, spec: { image: 'redis:7.2.4', replicas: 3 } });
  server.create(renderInstance(resolved.instance!).primaryService);
  for (let i = 0; i < 3; i++) {
    server.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${NAME}-${i}`, namespace: NS, labels: selectorLabels(NAME) }, spec: { containers: [{ name: 'redis', image: 'redis:7.2.4' }] } });
  }
});

afterEach(async () => {
  for (const stop of stops.splice(0)) stop.abort();
  await cleanupRedisPods();
  await server.stop();
});

function track(child: ChildProcess): ChildProcess {
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
  });
  return child;
}

async function startRedis(options: { replicaOf?: number; password?: string } = {}): Promise<number> {
  const port = await freePort();
  const dir = makeTempDir('role-agent-redis-');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  if (options.replicaOf) args.push('--replicaof', '127.0.0.1', String(options.replicaOf));
  if (options.password) args.push('--requirepass', options.password, '--masterauth', options.password);
  track(spawn(requireProgram('redis-server'), args, { stdio: 'ignore' }));
  await eventually(`redis-server on ${port}`, async () => (await sendCommand({ host: '127.0.0.1', port, password: options.password }, ['PING'])) === 'PONG');
  return port;
}

async function startSentinel(primaryPort: number): Promise<number> {
  const port = await freePort();
  const conf = join(makeTempDir('role-agent-sentinel-'), 'sentinel.conf');
  writeFileSync(conf, [
    `port ${port}`, 'bind 127.0.0.1', `sentinel monitor ${NAME} 127.0.0.1 ${primaryPort} 1`,
    `sentinel down-after-milliseconds ${NAME} 1000`, `sentinel failover-timeout ${NAME} 10000`, '',
  ].join('\n'));
  track(spawn(requireProgram('redis-sentinel'), [conf], { stdio: 'ignore' }));
  await eventually(`redis-sentinel on ${port}`, async () => (await sendCommand({ host: '127.0.0.1', port }, ['PING'])) === 'PONG');
  return port;
}

function startAgent(ordinal: number, redisPort: number, options: { sentinelPort?: number; password?: string; log?: Array<Record<string, unknown>> } = {}) {
  // Sentinel names these test servers 127.0.0.1:<port>.
  const stop = new AbortController();
  stops.push(stop);
  const done = runRoleAgent({
    kubeConfig, namespace: NS, podName: `${NAME}-${ordinal}`, instance: NAME,
    redis: { host: '127.0.0.1', port: redisPort, password: options.password },
    sentinel: { host: '127.0.0.1', port: options.sentinelPort ?? 1, password: options.password },
    self: { host: '127.0.0.1', port: redisPort },
    pollMs: 100, podMs: 200, log: (e) => options.log?.push(e), signal: stop.signal,
  });
  return { stop, done };
}

const pod = (ordinal: number) => server.get({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: `${NAME}-${ordinal}` });
const labels = () => [0, 1, 2].map((i) => pod(i).metadata.labels[ROLE_LABEL]);
/** The pods `<name>-primary` selects, by the test API server's own selector matching. */
function selected(): string[] {
  const service = server.get({ apiVersion: 'v1', kind: 'Service', namespace: NS, name: `${NAME}-primary` });
  return server.list('v1', 'Pod', NS).filter((p) => matchesLabelSelector({ matchLabels: service.spec.selector }, p.metadata.labels)).map((p) => p.metadata.name);
}
const patches = () => server.requests.filter((r) => r.method === 'PATCH').length;

describe('role agent', () => {
  it('labels each pod with its Redis role, and <name>-primary follows a role change within seconds', async () => {
    const p0 = await startRedis();
    const p1 = await startRedis({ replicaOf: p0 });
    const p2 = await startRedis({ replicaOf: p0 });
    [p0, p1, p2].forEach((port, i) => startAgent(i, port));
    await eventually('the first labels', async () => labels().join() === 'primary,replica,replica', 5_000);
    expect(selected()).toEqual([`${NAME}-0`]);

    // A steady pod writes nothing.
    server.resetRequestLog();
    await new Promise((r) => setTimeout(r, 600));
    expect(patches()).toBe(0);
    expect(server.requests.filter((r) => r.method === 'GET').length).toBeGreaterThan(0);

    // Promote pod 1 (what Sentinel does): the labels and the Service follow.
    const started = Date.now();
    await sendCommand({ host: '127.0.0.1', port: p1 }, ['REPLICAOF', 'NO', 'ONE']);
    await sendCommand({ host: '127.0.0.1', port: p0 }, ['REPLICAOF', '127.0.0.1', String(p1)]);
    await sendCommand({ host: '127.0.0.1', port: p2 }, ['REPLICAOF', '127.0.0.1', String(p1)]);
    await eventually('the labels to follow', async () => labels().join() === 'replica,primary,replica', 5_000);
    const followedMs = Date.now() - started;
    expect(selected()).toEqual([`${NAME}-1`]);
    expect(followedMs).toBeLessThan(3_000);
    // Exactly the two pods whose role changed were patched.
    expect(patches()).toBe(2);
  });

  it('leaves the label alone when Redis does not answer, and says so once', async () => {
    const p0 = await startRedis();
    const log: Array<Record<string, unknown>> = [];
    startAgent(0, p0, { log });
    await eventually('the label', async () => pod(0).metadata.labels[ROLE_LABEL] === 'primary', 5_000);
    await sendCommand({ host: '127.0.0.1', port: p0 }, ['SHUTDOWN', 'NOSAVE']).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 800));
    expect(pod(0).metadata.labels[ROLE_LABEL]).toBe('primary');
    expect(log.filter((e) => e.event === 'redis-unreachable')).toHaveLength(1);
  });

  it('reads the password from its file (AUTH first)', async () => {
    const password = 'pw with "quotes" and spaces';
    const p0 = await startRedis({ password });
    const log: Array<Record<string, unknown>> = [];
    startAgent(0, p0, { password, log });
    await eventually('the label', async () => pod(0).metadata.labels[ROLE_LABEL] === 'primary', 5_000);
    // A wrong password is an error the agent reports, not a role.
    const wrong: Array<Record<string, unknown>> = [];
    startAgent(1, p0, { password: 'wrong', log: wrong });
    await eventually('the auth error', async () => wrong.some((e) => e.event === 'redis-unreachable' && String(e.error).startsWith('WRONGPASS')), 5_000);
    expect(pod(1).metadata.labels[ROLE_LABEL]).toBeUndefined();
  });

  it('answers a failover request on the primary with SENTINEL FAILOVER, then clears it', async () => {
    const p0 = await startRedis();
    const p1 = await startRedis({ replicaOf: p0 });
    const p2 = await startRedis({ replicaOf: p0 });
    const sentinel = await startSentinel(p0);
    await eventually('Sentinel to see both replicas', async () => ((await sendCommand({ host: '127.0.0.1', port: sentinel }, ['SENTINEL', 'REPLICAS', NAME])) as unknown[]).length === 2, 15_000);
    const log: Array<Record<string, unknown>> = [];
    [p0, p1, p2].forEach((port, i) => startAgent(i, port, { sentinelPort: sentinel, log }));
    await eventually('the first labels', async () => labels().join() === 'primary,replica,replica', 5_000);

    const t1 = Date.now();
    const p = pod(0);
    p.metadata.annotations = { ...p.metadata.annotations, [FAILOVER_REQUESTED_ANNOTATION]: new Date().toISOString() };
    server.update(p);
    // Pod 0 leaves <name>-primary as soon as Sentinel names another primary, before its Redis
    // is demoted (Sentinel does that up to ~10 s later): two pods are selected at most for
    // the moment between two agents' polls (100 ms here), not until the demotion.
    let twoSince: number | undefined;
    let twoMs = 0;
    await eventually('the primary to move off pod 0', async () => {
      const l = labels();
      if (selected().length > 1) twoSince ??= Date.now();
      else if (twoSince !== undefined) { twoMs += Date.now() - twoSince; twoSince = undefined; }
      return l[0] === 'replica' && l.filter((x) => x === 'primary').length === 1;
    }, 20_000);
    const movedMs = Date.now() - t1;
    expect(twoMs).toBeLessThan(500);
    expect(movedMs).toBeLessThan(8_000);
    expect(log.some((e) => e.event === 'stale-primary' && e.pod === `${NAME}-0`)).toBe(true);
    expect(selected()).toHaveLength(1);
    expect(selected()).not.toContain(`${NAME}-0`);
    expect(log.find((e) => e.event === 'failover-requested')?.sentinel).toMatch(/^OK: 127\.0\.0\.1 is the primary now$/);
    expect(pod(0).metadata.annotations?.[FAILOVER_REQUESTED_ANNOTATION]).toBeUndefined();
  }, 40_000);

  it('runs as `redis-gitops role-agent` from the env the StatefulSet gives it, and stops on SIGTERM', async () => {
    const p0 = await startRedis({ password: 'secret\n' });
    const dir = makeTempDir('role-agent-cli-');
    const kubeconfig = server.writeKubeconfig(dir);
    writeFileSync(join(dir, 'password'), 'secret\n');
    const child = track(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'role-agent', '--kubeconfig', kubeconfig, '--poll-interval', '100'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, POD_NAME: `${NAME}-0`, POD_NAMESPACE: NS, INSTANCE: NAME, REDIS_PORT: String(p0), REDIS_PASSWORD_FILE: join(dir, 'password') },
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    let out = '';
    child.stdout!.on('data', (d) => { out += d; });
    await eventually('the label', async () => pod(0).metadata.labels[ROLE_LABEL] === 'primary', 20_000);
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(JSON.parse(out.trim().split('\n')[0])).toMatchObject({ event: 'role-label', pod: `${NAME}-0`, from: null, to: 'primary' });
  }, 40_000);
});

describe('role agent: the config status', () => {
  const statusPatches = () => server.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/pods/${NAME}-0`)).length;
  const annotation = () => pod(0).metadata.annotations?.[CONFIG_STATUS_ANNOTATION];

  function startStatusAgent(file: string, options: { log?: Array<Record<string, unknown>> } = {}) {
    const stop = new AbortController();
    stops.push(stop);
    const done = runRoleAgent({
      kubeConfig, namespace: NS, podName: `${NAME}-0`, instance: NAME, statusOnly: true, configStatusFile: file,
      pollMs: 50, log: (e) => options.log?.push(e), signal: stop.signal,
    });
    return { stop, done };
  }

  it('status only: publishes the status file as the pod annotation once, rewrites it only when the file changes, reads the pod only at start', async () => {
    const file = join(makeTempDir('config-status-'), 'agent-status');
    server.resetRequestLog();
    startStatusAgent(file);
    // No file yet (the config agent has not reported): nothing written.
    await new Promise((r) => setTimeout(r, 300));
    expect(statusPatches()).toBe(0);
    writeFileSync(file, `config=${'a'.repeat(64)}\tauth=current\n`);
    await eventually('the annotation', async () => annotation() === `config=${'a'.repeat(64)}\tauth=current`, 5_000);
    // Unchanged: not written again, and the pod is not read again (status only).
    await new Promise((r) => setTimeout(r, 500));
    expect(statusPatches()).toBe(1);
    expect(server.requests.filter((r) => r.method === 'GET').length).toBe(1);
    // No role label in status-only mode.
    expect(pod(0).metadata.labels[ROLE_LABEL]).toBeUndefined();
    writeFileSync(file, `config=${'b'.repeat(64)}\trefused=hz ERR x\n`);
    await eventually('the new annotation', async () => annotation() === `config=${'b'.repeat(64)}\trefused=hz ERR x`, 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(statusPatches()).toBe(2);
  });

  it('does not rewrite an annotation the pod already carries (a restarted agent)', async () => {
    const file = join(makeTempDir('config-status-'), 'agent-status');
    writeFileSync(file, 'config=same\n');
    const current = pod(0);
    server.update({ ...current, metadata: { ...current.metadata, annotations: { [CONFIG_STATUS_ANNOTATION]: 'config=same' } } });
    server.resetRequestLog();
    startStatusAgent(file);
    await new Promise((r) => setTimeout(r, 500));
    expect(server.requests.filter((r) => r.method === 'GET').length).toBe(1);
    expect(statusPatches()).toBe(0);
  });

  it('with failover: the same annotation next to the role label, each written once', async () => {
    const p0 = await startRedis();
    const file = join(makeTempDir('config-status-'), 'agent-status');
    writeFileSync(file, 'config=abc\tauth=current\n');
    server.resetRequestLog();
    const stop = new AbortController();
    stops.push(stop);
    void runRoleAgent({
      kubeConfig, namespace: NS, podName: `${NAME}-0`, instance: NAME, configStatusFile: file,
      redis: { host: '127.0.0.1', port: p0 }, sentinel: { host: '127.0.0.1', port: 1 }, pollMs: 50, podMs: 100, signal: stop.signal,
    });
    await eventually('label and annotation', async () => pod(0).metadata.labels[ROLE_LABEL] === 'primary' && annotation() === 'config=abc\tauth=current', 5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(statusPatches()).toBe(2);
  });
});
