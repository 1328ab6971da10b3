import { execFileSync, spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisInstanceSpec } from '../../src/api/types';
import { EXPORTER_CONTAINER_NAME } from '../../src/render/metrics';
import { tlsDnsNames } from '../../src/render/tls';
import { validateRedisInstance } from '../../src/api/validate';
import { requireProgram } from '../support/programs';
import { parseExposition } from '../support/prometheus';
import {
  cleanupRedisPods, configGet, connect, eventually, info, makeTempDir, redisBinaries, renderSpec, secretsFor, shippedInstances,
  startRedisPod, type RedisPod,
} from '../support/redis';
import { issue, makeCa, tlsSecret, type CertificateAuthority } from '../support/tls';

/**
 * spec.tls with a real redis-server and redis-cli, certificates made by openssl: TLS works
 * and plain TCP is refused, a replica replicates over TLS, the probes pass, the exporter
 * scrapes over TLS, a wrong CA is refused, and the AOF migration still runs.
 */

const PASSWORD = 'tls-pw\n';
const FAST_SYNC = { 'repl-diskless-sync-delay': '0' };

beforeAll(() => {
  redisBinaries();
  requireProgram('openssl');
  // Debian 12 builds Redis with TLS; a build without it would refuse tls-port.
  expect(execFileSync(redisBinaries().server, ['--version'], { encoding: 'utf8' })).toMatch(/v=7\./);
});
afterEach(cleanupRedisPods);

interface Pki { readonly ca: CertificateAuthority; readonly wrongCa: CertificateAuthority; readonly secret: Record<string, string> }

/** A CA, a certificate for the instance's DNS names as the rendered Certificate lists them, and an unrelated CA. */
function pki(spec: RedisInstanceSpec, name = 'cache'): Pki {
  const dir = makeTempDir('redis-tls-');
  const ca = makeCa(dir, 'ca');
  const wrongCa = makeCa(dir, 'wrong-ca');
  const resolved = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name, namespace: 'test' }, spec });
  const leaf = issue(ca, name, tlsDnsNames(resolved.instance!, `${name}-primary`));
  return { ca, wrongCa, secret: tlsSecret(ca, leaf) };
}

function spec(tls: RedisInstanceSpec['tls'] = { secretName: 'cache-tls' }, extra: Partial<RedisInstanceSpec> = {}): RedisInstanceSpec {
  return { image: 'redis:7.2.4', config: FAST_SYNC, auth: { secretName: 'pw' }, tls, ...extra };
}

/** One plain-TCP PING: the reply line, or what went wrong. */
function plainPing(port: number): Promise<string> {
  return new Promise((resolve) => {
    const conn = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    conn.setTimeout(2_000, () => { conn.destroy(); resolve('timeout'); });
    conn.on('connect', () => conn.write('PING\r\n'));
    conn.on('data', (c) => { reply += c.toString('utf8'); });
    conn.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
    conn.on('close', () => resolve(reply === '' ? 'closed without a reply' : reply.trim()));
  });
}

/** A TLS handshake as a client trusting `ca` would do it: 'ok', or the error code. */
function handshake(port: number, options: { ca: string }): Promise<string> {
  return new Promise((resolve) => {
    const conn = tlsConnect({ host: '127.0.0.1', port, ...options, checkServerIdentity: () => undefined });
    conn.on('secureConnect', () => { conn.destroy(); resolve('ok'); });
    conn.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

function cli(pod: RedisPod, args: string[], extra: string[] = []) {
  return spawnSync(redisBinaries().cli, ['-h', '127.0.0.1', '-p', String(pod.port), ...extra, ...args], {
    encoding: 'utf8', env: { ...process.env, REDISCLI_AUTH: PASSWORD }, timeout: 10_000,
  });
}

async function startPods(s: RedisInstanceSpec, count: number, p: Pki) {
  const rendered = renderSpec(s);
  const secrets = { ...secretsFor(rendered.statefulSet, PASSWORD), 'cache-tls': p.secret };
  const primary = await startRedisPod(rendered, 0, { secrets });
  const pods = [primary];
  for (let i = 1; i < count; i++) pods.push(await startRedisPod(rendered, i, { secrets, primaryPort: primary.port }));
  return { rendered, pods, secrets };
}

describe('TLS against a real redis-server', () => {
  it('serves TLS on the Redis port and refuses plain TCP', async () => {
    const p = pki(spec());
    const { pods: [pod] } = await startPods(spec(), 1, p);
    const client = await connect(pod, { password: PASSWORD, tls: { ca: p.ca.cert } });
    await client.set('k', 'over tls');
    expect(await client.get('k')).toBe('over tls');
    expect(await configGet(client, 'port')).toBe('0');
    expect(await configGet(client, 'tls-port')).toBe(String(pod.port));
    expect(await configGet(client, 'tls-replication')).toBe('yes');

    expect(await plainPing(pod.port)).toMatch(/^(closed without a reply|error ECONNRESET)$/);
    const plain = cli(pod, ['ping']);
    expect(plain.stdout.trim()).not.toBe('PONG');
    const ok = cli(pod, ['ping'], ['--tls', '--cacert', p.ca.certFile]);
    expect(ok.stdout.trim()).toBe('PONG');
  });

  it('a replica replicates over TLS, and the probes pass on both pods', async () => {
    const s = spec(undefined, { replicas: 2 });
    const p = pki(s);
    const { pods: [primary, replica] } = await startPods(s, 2, p);
    const primaryClient = await connect(primary, { password: PASSWORD, tls: { ca: p.ca.cert } });
    const replicaClient = await connect(replica, { password: PASSWORD, tls: { ca: p.ca.cert } });
    await eventually('master_link_status:up', async () => (await info(replicaClient, 'replication')).master_link_status === 'up');
    // The primary has no plain port: the link is TLS.
    expect(await configGet(primaryClient, 'port')).toBe('0');
    expect((await info(replicaClient, 'replication')).master_port).toBe(String(primary.port));
    await primaryClient.set('greeting', 'hello over tls');
    expect(await primaryClient.wait(1, 5_000)).toBe(1);
    expect(await replicaClient.get('greeting')).toBe('hello over tls');
    for (const pod of [primary, replica]) {
      expect(await pod.runProbe('readiness'), `${pod.name} readiness`).toMatchObject({ exitCode: 0 });
      expect(await pod.runProbe('liveness'), `${pod.name} liveness`).toMatchObject({ exitCode: 0 });
    }
  });

  it('a client that trusts another CA is refused; with authClients, so is a client without a certificate or with one of another CA', async () => {
    const s = spec({ secretName: 'cache-tls', authClients: true });
    const p = pki(s);
    const { pods: [pod] } = await startPods(s, 1, p);
    expect(cli(pod, ['ping'], ['--tls', '--cacert', p.wrongCa.certFile]).stderr).toMatch(/certificate verify failed/);
    expect(await handshake(pod.port, { ca: p.wrongCa.cert })).toBe('SELF_SIGNED_CERT_IN_CHAIN');
    // (TLS 1.3: the client has verified the server; the server refuses a missing client certificate after that, below.)
    expect(await handshake(pod.port, { ca: p.ca.cert })).toBe('ok');

    // authClients: the server wants a certificate its CA signed.
    expect(cli(pod, ['ping'], ['--tls', '--cacert', p.ca.certFile]).stdout.trim()).not.toBe('PONG');
    const stranger = issue(p.wrongCa, 'stranger', ['stranger']);
    const strangerFiles = join(p.wrongCa.dir, 'stranger');
    writeFileSync(`${strangerFiles}.pem`, stranger.cert);
    writeFileSync(`${strangerFiles}-key.pem`, stranger.key);
    expect(cli(pod, ['ping'], ['--tls', '--cacert', p.ca.certFile, '--cert', `${strangerFiles}.pem`, '--key', `${strangerFiles}-key.pem`]).stdout.trim()).not.toBe('PONG');
    const client = issue(p.ca, 'client', ['client']);
    const clientFiles = join(p.ca.dir, 'client');
    writeFileSync(`${clientFiles}.pem`, client.cert);
    writeFileSync(`${clientFiles}-key.pem`, client.key);
    expect(cli(pod, ['ping'], ['--tls', '--cacert', p.ca.certFile, '--cert', `${clientFiles}.pem`, '--key', `${clientFiles}-key.pem`]).stdout.trim()).toBe('PONG');
    // The probes present the pod's own certificate, so they pass with authClients too.
    expect(await pod.runProbe('readiness')).toMatchObject({ exitCode: 0 });
  });

  it('the exporter scrapes over TLS (it checks the host name localhost against the certificate)', async () => {
    const s = spec(undefined, { metrics: {} });
    const p = pki(s);
    const { pods: [pod] } = await startPods(s, 1, p);
    const exporter = await pod.startSidecar(EXPORTER_CONTAINER_NAME);
    expect(exporter.env.REDIS_ADDR).toBe(`rediss://localhost:${pod.port}`);
    const series = parseExposition((await exporter.get('/metrics')).body);
    expect(series.find((x) => x.name === 'redis_up')?.value).toBe(1);

    // A Secret of one's own whose certificate lacks localhost: the exporter refuses the server.
    const { pods: [other] } = await startPods(s, 1, { ...p, secret: tlsSecret(p.ca, issue(p.ca, 'no-localhost', ['cache.test.svc'])) });
    const refused = await other.startSidecar(EXPORTER_CONTAINER_NAME);
    expect((await refused.get('/metrics')).body).toMatch(/^redis_up 0$/m);
    await eventually('the exporter logs the refused connection', async () => refused.logs().includes("Couldn't connect to redis instance (rediss://localhost:"));
  });

  it('allowPlaintext: plain TCP on the second port during a migration, TLS on the Redis port', async () => {
    const s = spec({ secretName: 'cache-tls', allowPlaintext: true });
    const p = pki(s);
    const { pods: [pod] } = await startPods(s, 1, p);
    expect(pod.plainPort).toBeDefined();
    const plain = await connect(pod, { password: PASSWORD, port: pod.plainPort });
    await plain.set('k', 'plain');
    const tls = await connect(pod, { password: PASSWORD, tls: { ca: p.ca.cert } });
    expect(await tls.get('k')).toBe('plain');
    expect(await plainPing(pod.port)).toMatch(/^(closed without a reply|error ECONNRESET)$/);
  });

  it('the AOF migration (unix socket, no TCP) turns an RDB-only volume into an AOF with TLS on', async () => {
    const p = pki(spec());
    const { pods: [rdbOnly] } = await startPods(spec(undefined, { config: { ...FAST_SYNC, appendonly: 'no' } }), 1, p);
    const before = await connect(rdbOnly, { password: PASSWORD, tls: { ca: p.ca.cert } });
    await before.set('kept', 'yes');
    await before.save();
    expect(await rdbOnly.stop()).toEqual({ code: 0, signal: null });

    const rendered = renderSpec(spec());
    const pod = await startRedisPod(rendered, 0, {
      dataDir: rdbOnly.dataDir, secrets: { ...secretsFor(rendered.statefulSet, PASSWORD), 'cache-tls': p.secret },
    });
    expect(pod.init[0].stderr).toContain('wrote');
    const after = await connect(pod, { password: PASSWORD, tls: { ca: p.ca.cert } });
    expect(await after.get('kept')).toBe('yes');
    expect(await configGet(after, 'appendonly')).toBe('yes');
  });

  it('the shipped example with TLS (web/cache, cert-manager) serves TLS with the Secret the Certificate writes', async () => {
    const cache = shippedInstances().find((e) => e.instance === 'web/cache')!;
    const secretName = cache.statefulSet.spec!.template.spec!.volumes!.find((v) => v.name === 'tls')!.secret!.secretName!;
    expect(secretName).toBe('cache-tls');
    const p = pki(cache.redisInstance.spec);
    const pod = await startRedisPod(cache, 0, { secrets: { [secretName]: p.secret } });
    const client = await connect(pod, { tls: { ca: p.ca.cert } });
    expect(await client.ping()).toBe('PONG');
    expect(await pod.runProbe('readiness')).toMatchObject({ exitCode: 0 });
    expect(await plainPing(pod.port)).toMatch(/^(closed without a reply|error ECONNRESET)$/);
  });
});
