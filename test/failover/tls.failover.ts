import { writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisInstanceSpec } from '../../src/api/types';
import { SENTINEL_PORT } from '../../src/render/sentinel';
import { SENTINEL_PLAINTEXT_PORT, PLAINTEXT_PORT, tlsDnsNames } from '../../src/render/tls';
import { ROLE_AGENT_TLS_SERVER_NAME } from '../../src/render/role-agent';
import { sendCommand, parseInfo, type RedisTarget } from '../../src/role-agent/resp';
import { redisBinaries } from '../support/redis/binaries';
import { makeTempDir } from '../support/redis/pod';
import { secretsFor } from '../support/redis/seam';
import { requireProgram } from '../support/programs';
import { issue, makeCa, tlsSecret, type CertificateAuthority } from '../support/tls';
import { cleanupClusters, createCluster, type FailoverCluster } from '../support/netns/cluster';
import { pingOnce } from '../support/netns/pod';
import { failoverInstance, failoverPodSource } from '../support/netns/source';
import { countPresent, eventually, failOverAndRejoin, keys, masters, podInfo, settled, snapshot, writeConfirmed } from '../support/netns/workload';

/**
 * Failover over TLS (spec.tls with Sentinel), with real processes in network namespaces
 * (test/support/netns) and certificates made by openssl here: one certificate for the
 * instance's DNS names, as the rendered Certificate lists them, shared by every pod as the
 * Secret is. Redis (6379) and Sentinel (26379) speak TLS only; the start-up election,
 * Sentinel's links, replication, the preStop failover and the role agent's RESP client all
 * go over TLS.
 */

beforeAll(() => {
  redisBinaries(); requireProgram('redis-sentinel'); requireProgram('openssl'); requireProgram('ip', '/usr/sbin:/usr/bin:/sbin:/bin');
});
afterEach(cleanupClusters);

const FAST_SYNC = { 'repl-diskless-sync-delay': '0' };

interface Pki { readonly ca: CertificateAuthority; readonly wrongCa: CertificateAuthority }

async function startTlsCluster(
  tls: NonNullable<RedisInstanceSpec['tls']>,
  options: { readonly password?: string; readonly shell?: 'sh' | 'busybox'; readonly dataDirs?: readonly string[] } = {},
): Promise<{ cluster: FailoverCluster; pki: Pki }> {
  const instance = failoverInstance({
    image: 'redis:7.0.15', replicas: 3, config: FAST_SYNC, tls,
    ...(options.password !== undefined ? { auth: { secretName: 'cache-auth' } } : {}),
  }, { downAfterMilliseconds: 2000 });
  const source = failoverPodSource(instance);
  const dir = makeTempDir('failover-tls-');
  const pki = { ca: makeCa(dir, 'ca'), wrongCa: makeCa(dir, 'wrong-ca') };
  const secrets = {
    ...(options.password !== undefined ? secretsFor(source.statefulSet, options.password) : {}),
    'cache-tls': tlsSecret(pki.ca, issue(pki.ca, 'cache', tlsDnsNames(instance, 'cache-primary'))),
  };
  const cluster = createCluster(source, {
    secrets, ...(options.password !== undefined ? { password: options.password } : {}), ...(options.shell ? { shell: options.shell } : {}),
    ...(options.dataDirs ? { dataDirs: options.dataDirs } : {}),
  });
  await cluster.startAll();
  return { cluster, pki };
}

/** A TLS handshake and PING to host:port trusting `ca` (and presenting `cert`/`key` when given): the reply, or the error code. */
function tlsPing(host: string, port: number, options: { ca: string; cert?: string; key?: string }): Promise<string> {
  return new Promise((resolve) => {
    const conn = tlsConnect({ host, port, ...options, checkServerIdentity: () => undefined });
    let reply = '';
    conn.setTimeout(2_000, () => { conn.destroy(); resolve('timeout'); });
    conn.on('secureConnect', () => conn.write('PING\r\n'));
    conn.on('data', (c) => { reply += c.toString('utf8'); if (reply.includes('\r\n')) { conn.destroy(); resolve(reply.trim()); } });
    conn.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    conn.on('close', () => resolve(reply.trim() || 'closed without a reply'));
  });
}

describe('failover over TLS (3 pods, Sentinel, spec.tls)', () => {
  it('authClients: pod 0 is elected at creation over TLS, plain TCP and a wrong CA are refused, kill -9 fails over, writes resume through Sentinel, preStop moves the primary', async () => {
    const { cluster, pki } = await startTlsCluster({ secretName: 'cache-tls', authClients: true });
    const first = await settled(cluster);
    expect(first.ordinal).toBe(0);
    expect(cluster.pods.map((p) => p.logs('start-up')).join('\n')).toContain('election: 0[offset 0, keys 0] 1[offset 0, keys 0] 2[offset 0, keys 0] -> cache-0');
    const tls = cluster.tls!;

    for (const pod of cluster.pods) {
      // Plain TCP: no answer on either port (Redis and Sentinel only speak TLS).
      expect(await pingOnce(pod.ip, 6379), `${pod.name} plain 6379`).toBeUndefined();
      expect(await pingOnce(pod.ip, SENTINEL_PORT), `${pod.name} plain 26379`).toBeUndefined();
      // TLS with the pod's certificate: both answer.
      expect(await tlsPing(pod.ip, 6379, tls)).toBe('+PONG');
      expect(await tlsPing(pod.ip, SENTINEL_PORT, tls)).toBe('+PONG');
      // A client that trusts another CA refuses the server; a client without a certificate is refused (authClients).
      expect(await tlsPing(pod.ip, 6379, { ...tls, ca: pki.wrongCa.cert })).toBe('SELF_SIGNED_CERT_IN_CHAIN');
      expect(await tlsPing(pod.ip, SENTINEL_PORT, { ...tls, ca: pki.wrongCa.cert })).toBe('SELF_SIGNED_CERT_IN_CHAIN');
      expect(await tlsPing(pod.ip, 6379, { ca: tls.ca })).not.toBe('+PONG');
      expect(await tlsPing(pod.ip, SENTINEL_PORT, { ca: tls.ca })).not.toBe('+PONG');
    }
    // Replicas replicate over TLS: the primary has no plain port at all.
    const primaryClient = await cluster.direct(first);
    expect(await primaryClient.config('GET', 'port')).toEqual(['port', '0']);
    expect(await primaryClient.config('GET', 'tls-replication')).toEqual(['tls-replication', 'yes']);
    const sentinel = await cluster.direct(first, SENTINEL_PORT);
    expect(await sentinel.call('SENTINEL', 'CONFIG', 'GET', 'resolve-hostnames')).toEqual(['resolve-hostnames', 'yes']);
    sentinel.disconnect();

    // The role agent's RESP client, as the pod runs it: the pod's CA and certificate, server name localhost.
    const agentTarget = (port: number, ca = tls.ca): RedisTarget => {
      const files = makeTempDir('agent-tls-');
      const write = (name: string, content: string) => { writeFileSync(`${files}/${name}`, content); return `${files}/${name}`; };
      return { host: first.ip, port, tls: { caFile: write('ca.crt', ca), certFile: write('tls.crt', tls.cert), keyFile: write('tls.key', tls.key), serverName: ROLE_AGENT_TLS_SERVER_NAME } };
    };
    expect(parseInfo(String(await sendCommand(agentTarget(6379), ['INFO', 'replication']))).role).toBe('master');
    expect(await sendCommand(agentTarget(SENTINEL_PORT), ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'cache'])).toEqual([first.dnsName, '6379']);
    await expect(sendCommand(agentTarget(6379, pki.wrongCa.cert), ['PING'])).rejects.toThrow(/self[- ]signed certificate/i);
    await expect(sendCommand({ ...agentTarget(6379), tls: { ...agentTarget(6379).tls!, serverName: 'elsewhere.example' } }, ['PING']))
      .rejects.toThrow(/Hostname\/IP does not match certificate's altnames/);

    const client = cluster.sentinelClient();
    await writeConfirmed(client, 'before', 200);
    // The old primary comes back (Sentinel state gone): over TLS it finds the new primary and follows it.
    const { promoted, acknowledged } = await failOverAndRejoin(cluster, first, client, 'writes through Sentinel (TLS) after the kill');
    expect(promoted.ordinal).not.toBe(0);
    const report = { acknowledged };
    expect((await podInfo(cluster, first, 'replication')).master_host).toBe(promoted.dnsName);
    const written = [...keys('before', 200), ...report.acknowledged];
    for (const pod of cluster.pods) expect(await countPresent(cluster, pod, written), pod.name).toBe(written.length);

    // A planned stop of the primary: its preStop (TLS to the replicas and the other Sentinels) hands the role over.
    const stopped = await promoted.stop();
    expect(stopped?.stderr).toMatch(/preStop: cache-\d\.cache\.test\.svc is the primary now; stopping/);
    await promoted.start();
    const next = await settled(cluster);
    expect(next).not.toBe(promoted);
    expect(await masters(cluster)).toEqual([next.ordinal]);
  }, 120_000);

  it('allowPlaintext, auth and busybox ash: Redis and Sentinel also serve plain TCP on 6380 and 26380, TLS stays TLS only', async () => {
    const password = "pa ss'word";
    const { cluster } = await startTlsCluster({ secretName: 'cache-tls', allowPlaintext: true }, { password, shell: 'busybox' });
    const primary = await settled(cluster);
    for (const pod of cluster.pods) {
      expect(await pingOnce(pod.ip, 6379)).toBeUndefined();
      expect(await pingOnce(pod.ip, SENTINEL_PORT)).toBeUndefined();
      expect(await pingOnce(pod.ip, PLAINTEXT_PORT)).toMatch(/^-NOAUTH/);
      expect(await pingOnce(pod.ip, SENTINEL_PLAINTEXT_PORT)).toMatch(/^-NOAUTH/);
    }
    const client = cluster.sentinelClient();
    await writeConfirmed(client, 'k', 50);
    await primary.kill();
    await eventually('writes through Sentinel after the kill', async () => { await writeConfirmed(client, 'm', 20); return true; }, 30_000, () => cluster.quietLogs());
    const promoted = await settled(cluster);
    expect(promoted).not.toBe(primary);
    expect(await countPresent(cluster, promoted, [...keys('k', 50), ...keys('m', 20)])).toBe(70);
  }, 90_000);

  it('turning TLS on for a running failover instance: a rolling update stops at the first TLS pod, which waits, untouched; a full restart on the same claims elects the node with the data, no key is lost', async () => {
    // Before: the same instance without TLS.
    const plain = createCluster(failoverPodSource(failoverInstance({ image: 'redis:7.0.15', replicas: 3, config: FAST_SYNC }, { downAfterMilliseconds: 2000 })));
    await plain.startAll();
    // Created together, the pods elected pod 0; both replicas confirm every write.
    await eventually('pod 0 primary, both replicas linked', async () => (await masters(plain)).join() === '0'
      && (await podInfo(plain, plain.pods[0], 'replication')).connected_slaves === '2', 20_000, () => plain.quietLogs());
    const client = await plain.direct(plain.pods[0]);
    for (const key of keys('k', 300)) await client.set(key, key);
    expect(await client.wait(2, 5_000)).toBe(2);

    // A rolling update replaces pod 2 first: with TLS it reaches no plain peer, so it waits
    // (electing, as nobody answers it), never starting empty or as a second primary; its
    // claim is untouched, and the old pods go on serving.
    const rolled = plain.pods[2];
    await rolled.stop();
    const files = snapshot(rolled.dataDir);
    const tlsInstance = failoverInstance({ image: 'redis:7.0.15', replicas: 3, config: FAST_SYNC, tls: { secretName: 'cache-tls' } }, { downAfterMilliseconds: 2000 });
    const dir = makeTempDir('failover-tls-rolled-');
    const ca = makeCa(dir, 'ca');
    rolled.replaceTemplate(failoverPodSource(tlsInstance), { secrets: { 'cache-tls': tlsSecret(ca, issue(ca, 'cache', tlsDnsNames(tlsInstance, 'cache-primary'))) } });
    const starting = rolled.start().catch((e: Error) => e);
    // Each TLS call to a plain peer runs into redis-cli's 2 s timeout: a round takes seconds.
    await eventually('the TLS pod to wait', async () => rolled.logs('start-up').includes('electing: waiting until all 3 nodes answer'), 30_000, () => plain.quietLogs());
    await rolled.kill();
    expect(await starting).toBeInstanceOf(Error);
    expect(rolled.logs('start-up')).not.toMatch(/starting as/);
    expect(snapshot(rolled.dataDir)).toEqual(files);
    expect(await masters(plain)).toEqual([0]);
    await client.set('during-rollout', 'ok');
    client.disconnect();

    // The way through: every pod stops (kubectl delete statefulset), the new StatefulSet's pods start together.
    await Promise.all(plain.pods.map((p) => p.stop({ preStop: false })));

    // After: the StatefulSet with spec.tls, its pods all new, on the old claims.
    const { cluster } = await startTlsCluster({ secretName: 'cache-tls' }, { dataDirs: plain.pods.map((p) => p.dataDir) });
    const primary = await settled(cluster);
    // Pod 2 missed the write made while it waited: pods 0 and 1 hold the most keys, and the lower ordinal wins.
    expect(cluster.pods.map((p) => p.logs('start-up')).join('\n')).toMatch(/election: 0\[offset \d+, keys 301\] 1\[offset \d+, keys 301\] 2\[offset \d+, keys 300\] -> cache-0/);
    for (const pod of cluster.pods) expect(await countPresent(cluster, pod, keys('k', 300)), pod.name).toBe(300);
    expect(await masters(cluster)).toEqual([primary.ordinal]);
    expect(await countPresent(cluster, primary, ['during-rollout'])).toBe(1);
  }, 120_000);
});
