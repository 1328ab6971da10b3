import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisInstanceSpec } from '../../src/api/types';
import { AGENT_CONTAINER_NAME } from '../../src/render/config-agent';
import { sendCommand, type RespValue } from '../../src/role-agent/resp';
import { requireProgram } from '../support/programs';
import {
  cleanupRedisPods, eventually, freePort, makeTempDir, onCleanup, redisBinaries, renderSpec, secretsFor, startRedisPod, type RedisPod,
} from '../support/redis';

/**
 * Sentinel follows a live rotation (docs/live-changes.md): three real redis-servers, each
 * with its config agent (the real script) and a real redis-sentinel that has the password
 * as its own requirepass, as failover pods have. The kubelet's Secret updates reach the
 * pods half a second apart. After the grace period, with every link made again, each
 * Sentinel still sees the primary, both replicas and both other Sentinels, the old
 * password is refused by every Sentinel, and a kill -9 of the primary still fails over.
 */

beforeAll(() => { redisBinaries(); });
afterEach(cleanupRedisPods);

const OLD = 'old-pass-1';
const NEW = 'new-pass-2';
const GRACE_SECONDS = 6;
const NAME = 'cache';

const call = (port: number, password: string | undefined, ...args: string[]): Promise<RespValue> => sendCommand({ host: '127.0.0.1', port, password }, args);
const fields = (reply: RespValue): Record<string, string> => {
  const list = reply as string[];
  return Object.fromEntries(Array.from({ length: list.length / 2 }, (_, i) => [list[2 * i], list[2 * i + 1]]));
};

async function startSentinel(port: number, primaryPort: number): Promise<void> {
  const dir = makeTempDir('sentinel-rotation-');
  const conf = join(dir, 'sentinel.conf');
  // What ha-sentinel.sh writes for a pod with spec.auth (on localhost instead of pod DNS names).
  writeFileSync(conf, [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
    `sentinel monitor ${NAME} 127.0.0.1 ${primaryPort} 2`, `sentinel down-after-milliseconds ${NAME} 1000`,
    `sentinel failover-timeout ${NAME} 10000`, `sentinel auth-pass ${NAME} ${OLD}`, `requirepass ${OLD}`, '',
  ].join('\n'));
  const child = spawn(requireProgram('redis-sentinel'), [conf], { stdio: 'ignore' });
  onCleanup(async () => { child.kill('SIGKILL'); });
  await eventually(`redis-sentinel on ${port}`, async () => (await call(port, OLD, 'PING').catch(() => '')) === 'PONG');
}

/** Sentinel's view, from one Sentinel: the primary, its replicas and the other Sentinels, none down. */
async function view(port: number, password: string) {
  const master = fields(await call(port, password, 'SENTINEL', 'MASTER', NAME));
  const replicas = (await call(port, password, 'SENTINEL', 'REPLICAS', NAME) as RespValue[]).map(fields);
  const sentinels = (await call(port, password, 'SENTINEL', 'SENTINELS', NAME) as RespValue[]).map(fields);
  return {
    primary: `${master.port}:${master.flags}`,
    replicas: replicas.map((r) => `${r.port}:${r.flags}`).sort(),
    sentinels: sentinels.map((s) => s.flags).sort(),
  };
}

describe('Sentinel and a live rotation', () => {
  it('after rotation and grace: Sentinel sees every node and Sentinel, refuses the old password, and a kill -9 still fails over', async () => {
    const spec: RedisInstanceSpec = {
      image: 'redis:7.2.4', replicas: 3, failover: 'none', auth: { secretName: 'auth', rotationGracePeriodSeconds: GRACE_SECONDS },
      config: { 'repl-diskless-sync-delay': '0' },
    };
    const rendered = renderSpec(spec, NAME);
    const sentinelPorts = [await freePort(), await freePort(), await freePort()];
    const pods: RedisPod[] = [];
    for (let i = 0; i < 3; i++) {
      // The agent of a failover pod has SENTINEL_PORT and INSTANCE (render/config-agent.ts).
      const own = structuredClone(rendered);
      const agent = own.statefulSet.spec!.template.spec!.containers.find((c) => c.name === AGENT_CONTAINER_NAME)!;
      agent.env = [...agent.env!, { name: 'SENTINEL_PORT', value: String(sentinelPorts[i]) }, { name: 'INSTANCE', value: NAME }];
      pods.push(await startRedisPod(own, i, { secrets: secretsFor(own.statefulSet, OLD), ...(i > 0 ? { primaryPort: pods[0].port } : {}) }));
    }
    const [primary] = pods;
    for (const port of sentinelPorts) await startSentinel(port, primary.port);
    const healthy = (v: Awaited<ReturnType<typeof view>>) => v.primary === `${primary.port}:master`
      && v.replicas.join() === [pods[1], pods[2]].map((p) => `${p.port}:slave`).sort().join() && v.sentinels.join() === 'sentinel,sentinel';
    for (const port of sentinelPorts) await eventually(`Sentinel ${port} to see everything`, async () => healthy(await view(port, OLD)), 20_000);

    // The kubelet updates the Secret volumes, half a second apart.
    for (const pod of pods) {
      pod.updateSecrets(secretsFor(rendered.statefulSet, NEW));
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const pod of pods) {
      await eventually(`${pod.name}'s grace period to end`, async () => pod.sidecars[AGENT_CONTAINER_NAME].logs().includes('grace period over'), (GRACE_SECONDS + 10) * 1000);
    }
    for (const pod of pods) {
      const logs = pod.sidecars[AGENT_CONTAINER_NAME].logs();
      expect(logs).toContain('Sentinel now authenticates to the nodes and the other Sentinels with the new password');
      expect(logs).not.toMatch(/failed/);
    }
    // Every link made again (as after a network blip or a restart): only the new password counts now.
    for (const port of [...pods.map((p) => p.port), ...sentinelPorts]) {
      await call(port, NEW, 'CLIENT', 'KILL', 'TYPE', 'normal');
      await call(port, NEW, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    }
    await new Promise((r) => setTimeout(r, 3000));
    for (const port of sentinelPorts) {
      await eventually(`Sentinel ${port} to see everything with the new password`, async () => healthy(await view(port, NEW)), 20_000);
      expect(await call(port, NEW, 'SENTINEL', 'CKQUORUM', NAME)).toMatch(/^OK 3 usable Sentinels/);
      await expect(call(port, OLD, 'PING')).rejects.toThrow(/WRONGPASS|invalid password/);
    }

    // kill -9 of the primary: the Sentinels, authenticating with the new password, promote a replica.
    process.kill(primary.pid, 'SIGKILL');
    const replicaPorts = [String(pods[1].port), String(pods[2].port)];
    await eventually('a replica promoted', async () => {
      const addr = await call(sentinelPorts[1], NEW, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME) as string[];
      return replicaPorts.includes(addr[1]);
    }, 30_000);
    const addr = await call(sentinelPorts[1], NEW, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME) as string[];
    await eventually('the new primary to say master', async () => String(await call(Number(addr[1]), NEW, 'ROLE').then((r) => (r as RespValue[])[0])) === 'master', 15_000);
  }, 120_000);
});
