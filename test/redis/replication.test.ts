import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupRedisPods, connect, eventually, info, redisBinaries, renderSpec, secretsFor, shippedInstances, startRedisPod,
  type RedisPod, type RenderedPodSource,
} from '../support/redis';

/**
 * Pods 0 and 1 of a rendered StatefulSet, each started from the rendered start-up (init
 * script, then redis-server): pod 1 finds pod 0 through its stable DNS name (resolved to
 * loopback by the seam) and replicates from it.
 */

beforeAll(() => { redisBinaries(); });
afterEach(cleanupRedisPods);

/**
 * Our own test instances set `repl-diskless-sync-delay 0` (a user key, rendered like any
 * other): Redis's default makes every full sync wait 5 s for more replicas to join.
 * The shipped example runs with its config as is, and pays those 5 s.
 */
const FAST_SYNC = { 'repl-diskless-sync-delay': '0' };

async function startReplicated(source: RenderedPodSource, count: number, password?: string): Promise<RedisPod[]> {
  const secrets = password === undefined ? {} : secretsFor(source.statefulSet, password);
  const primary = await startRedisPod(source, 0, { secrets });
  const pods = [primary];
  for (let ordinal = 1; ordinal < count; ordinal++) {
    pods.push(await startRedisPod(source, ordinal, { secrets, primaryPort: primary.port }));
  }
  return pods;
}

async function expectReplicating(pods: RedisPod[], password?: string): Promise<void> {
  const auth = password === undefined ? {} : { password };
  const [primary, ...replicas] = pods;
  const primaryClient = await connect(primary, auth);
  const replicaClients = await Promise.all(replicas.map((pod) => connect(pod, auth)));

  for (const client of replicaClients) {
    await eventually('master_link_status:up', async () => (await info(client, 'replication')).master_link_status === 'up');
    const replication = await info(client, 'replication');
    expect(replication.role).toBe('slave');
    expect(replication.master_host).toBe('127.0.0.1');
    expect(replication.master_port).toBe(String(primary.port));
  }
  const primaryReplication = await info(primaryClient, 'replication');
  expect(primaryReplication.role).toBe('master');
  expect(primaryReplication.connected_slaves).toBe(String(replicas.length));

  // A write to the primary reaches every replica.
  await primaryClient.set('greeting', 'hello from pod 0');
  await primaryClient.hset('user:1', { name: 'Ada', visits: '3' });
  expect(await primaryClient.wait(replicas.length, 5_000)).toBe(replicas.length);
  for (const client of replicaClients) {
    expect(await client.get('greeting')).toBe('hello from pod 0');
    expect(await client.hgetall('user:1')).toEqual({ name: 'Ada', visits: '3' });
  }

  // Replicas refuse writes.
  for (const client of replicaClients) {
    await expect(client.set('greeting', 'overwritten')).rejects.toThrow(/^READONLY/);
  }
  expect(await primaryClient.get('greeting')).toBe('hello from pod 0');
}

describe('replication', () => {
  it('pod 1 replicates from pod 0; only pods other than 0 get replicaof', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', replicas: 2, config: FAST_SYNC });
    const pods = await startReplicated(rendered, 2);
    expect(readFileSync(pods[0].runtimeConf, 'utf8')).toBe('');
    expect(readFileSync(pods[1].runtimeConf, 'utf8')).toBe(`replicaof 127.0.0.1 ${pods[0].port}\n`);
    await expectReplicating(pods);
  });

  it('the shipped example shop/sessions: three pods with a password replicate', async () => {
    const sessions = shippedInstances().find((e) => e.instance === 'shop/sessions');
    expect(sessions, 'charts/examples.ts defines shop/sessions').toBeDefined();
    expect(sessions!.statefulSet.spec!.replicas).toBe(3);
    const password = 'sessions pa55 "quoted" \\ back';
    const pods = await startReplicated(sessions!, 3, password);
    await expectReplicating(pods, password);
  });

  it('a replica started again rejoins its primary and catches up', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', replicas: 2, config: FAST_SYNC });
    const [primary, replica] = await startReplicated(rendered, 2);
    const primaryClient = await connect(primary);
    await eventually('a connected replica', async () => (await info(primaryClient, 'replication')).connected_slaves === '1');
    await primaryClient.set('before', '1');
    expect(await primaryClient.wait(1, 5_000)).toBe(1);
    // After a full sync the replica writes its initial AOF and, until that is done, Redis
    // ignores SIGTERM ("Writing initial AOF, can't exit"); the kubelet would SIGKILL it
    // after terminationGracePeriodSeconds. Stop it once that is over, as Redis's own tests do.
    const replicaClient0 = await connect(replica);
    await eventually('the initial AOF rewrite to finish', async () => {
      const persistence = await info(replicaClient0, 'persistence');
      return persistence.aof_rewrite_in_progress === '0' && persistence.aof_rewrite_scheduled === '0';
    });
    expect(await replica.stop()).toEqual({ code: 0, signal: null });
    await primaryClient.set('while-down', '2');
    const again = await startRedisPod(rendered, 1, { dataDir: replica.dataDir, primaryPort: primary.port });
    const replicaClient = await connect(again);
    await eventually('the replica to catch up', async () => (await replicaClient.get('while-down')) === '2');
    expect(await replicaClient.get('before')).toBe('1');
  });
});
