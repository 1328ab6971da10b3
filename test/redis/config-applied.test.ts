import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisInstanceSpec } from '../../src/api/types';
import { liveConfigHash } from '../../src/redis-conf/live-config';
import { AGENT_STATUS_FILE } from '../../src/render/config-agent';
import { runRoleAgent } from '../../src/role-agent/agent';
import { startHarness, type Harness } from '../reconcile/harness';
import { cleanupRedisPods, configGet, connect, eventually, onCleanup, redisBinaries, renderSpec, startRedisPod } from '../support/redis';

/**
 * From a refusal by the real redis-server to the RedisInstance's status: the config agent
 * (its real script) next to a real redis-server, the pod agent publishing its status file
 * to the test API server, and the reconciler's pass writing ConfigApplied, as
 * `kubectl get redisinstance -o yaml` would show it.
 */

beforeAll(() => { redisBinaries(); });
let h: Harness;
afterEach(async () => {
  await cleanupRedisPods();
  await h?.stop();
});

const NS = 'web';
const NAME = 'cache';
const good: RedisInstanceSpec = { image: 'redis:7.2.4', podAgent: true, config: { maxmemory: '100mb', 'maxmemory-policy': 'allkeys-lru' } };
const bad: RedisInstanceSpec = { ...good, config: { maxmemory: '200mb', 'maxmemory-policy': 'most-recently-used' } };
const condition = () => (h.get('RedisInstance', NS, NAME)?.status?.conditions ?? []).find((c: any) => c.type === 'ConfigApplied');

describe('ConfigApplied from a real redis-server', () => {
  it('a value Redis refuses ends up, with Redis\'s error, in the condition; a good value turns it True', async () => {
    h = await startHarness({ autoReadyPods: true });
    h.instance(NS, NAME, bad);
    expect((await h.reconcile()).code).toBe(0);
    h.server.settle();
    // The pod agent's RBAC is rendered without failover too, and the pod runs it status-only.
    expect(h.get('RoleBinding', NS, `${NAME}-role-agent`)).toBeDefined();
    expect(h.get('StatefulSet', NS, NAME).spec.template.spec.containers.find((c: any) => c.name === 'role-agent').args).toEqual(['role-agent', '--status-only']);
    expect((await h.reconcile()).code).toBe(0);
    expect(condition()).toMatchObject({ status: 'Unknown', reason: 'Pending' });

    // Redis starts with the good config (it would refuse to start with the bad one), then the kubelet projects the bad one.
    const pod = await startRedisPod(renderSpec(good, NAME, NS), 0);
    pod.updateConfigMap(renderSpec(bad, NAME, NS).configMap);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(h.server.kubeconfigYaml());
    const stop = new AbortController();
    onCleanup(async () => stop.abort());
    const agent = runRoleAgent({
      kubeConfig, namespace: NS, podName: `${NAME}-0`, instance: NAME, statusOnly: true, pollMs: 200,
      configStatusFile: join(pod.volumeDir('runtime'), AGENT_STATUS_FILE.split('/').pop()!), signal: stop.signal, log: () => undefined,
    });
    const hash = liveConfigHash(bad.config);
    await eventually('the refusal on the pod', async () => (h.get('Pod', NS, `${NAME}-0`).metadata.annotations?.['redis.github.com/config-status'] ?? '').startsWith(`config=${hash}\trefused=maxmemory-policy`), 10_000);
    expect((await h.reconcile()).code).toBe(0);
    const error = "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: "
      + 'volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction';
    expect(condition()).toMatchObject({
      status: 'False', reason: 'Refused',
      message: `live config ${hash.slice(0, 12)}: ${NAME}-0 refused maxmemory-policy (${error}); the previous values stay in force there`,
    });
    const client = await connect(pod);
    expect(await configGet(client, 'maxmemory-policy')).toBe('allkeys-lru');
    expect(await configGet(client, 'maxmemory')).toBe(String(200 * 1024 * 1024));

    // The owner fixes the value: the agent applies it, the annotation and the condition follow.
    const fixed: RedisInstanceSpec = { ...bad, config: { ...bad.config, 'maxmemory-policy': 'allkeys-lfu' } };
    const current = h.get('RedisInstance', NS, NAME);
    h.server.update({ ...current, spec: fixed });
    pod.updateConfigMap(renderSpec(fixed, NAME, NS).configMap);
    await eventually('the fix on the pod', async () => h.get('Pod', NS, `${NAME}-0`).metadata.annotations?.['redis.github.com/config-status'] === `config=${liveConfigHash(fixed.config)}`, 10_000);
    expect((await h.reconcile()).code).toBe(0);
    expect(condition()).toMatchObject({ status: 'True', reason: 'Applied', message: `live config ${liveConfigHash(fixed.config).slice(0, 12)} in force on 1/1 pods` });
    stop.abort();
    await agent;
  }, 60_000);
});
