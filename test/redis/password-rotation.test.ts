import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisInstanceSpec } from '../../src/api/types';
import { AGENT_CONTAINER_NAME } from '../../src/render/config-agent';
import {
  cleanupRedisPods, configGet, connect, eventually, freePort, info, makeTempDir, onCleanup, redisBinaries, renderSpec, renderedText, secretsFor,
  startRedisPod,
  type RedisPod,
} from '../support/redis';

/**
 * Live password rotation with real redis-servers (a primary and a linked replica), under
 * dash and busybox ash: the harness projects the new Secret as the kubelet does, the
 * config agent of each pod adds the new password next to the old one, re-points
 * masterauth, and drops the old one after spec.auth.rotationGracePeriodSeconds.
 */

beforeAll(() => { redisBinaries(); });
afterEach(cleanupRedisPods);

const GRACE_SECONDS = 3;
const OLD = 'old "pass" \\ word';
const NEW = 'n3w-Secret\\"-pass\n';

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
}

/** Files under `root` whose bytes contain `text`, relative to it (links followed). */
function filesContaining(root: string, text: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root, { recursive: true }) as string[]) {
    const path = join(root, entry);
    try {
      if (statSync(path).isFile() && readFileSync(path).includes(Buffer.from(text))) out.push(entry);
    } catch { /* gone meanwhile */ }
  }
  return out.sort();
}

/** redis-cli PING on a new connection that authenticates with `password` (REDISCLI_AUTH): its output, errors included. */
function pingWith(pod: RedisPod, password: string): string {
  const run = spawnSync(redisBinaries().cli, ['-h', '127.0.0.1', '-p', String(pod.port), 'ping'], { env: { REDISCLI_AUTH: password }, encoding: 'utf8' });
  return (run.stderr + run.stdout).trim();
}

function agentStatus(pod: RedisPod): string {
  try {
    return readFileSync(join(pod.volumeDir('runtime'), 'agent-status'), 'utf8');
  } catch {
    return '';
  }
}

for (const shell of ['sh', 'busybox'] as const) {
  describe(`password rotation (${shell === 'sh' ? 'dash' : 'busybox ash'})`, () => {
    it('rotates with no restart: commands keep working, the replica stays linked, probes pass, the old password ends after the grace period', async () => {
      const spec: RedisInstanceSpec = {
        image: 'redis:7.2.4', replicas: 2, auth: { secretName: 'auth', rotationGracePeriodSeconds: GRACE_SECONDS },
        config: { 'repl-diskless-sync-delay': '0' },
      };
      const rendered = renderSpec(spec);
      const primary = await startRedisPod(rendered, 0, { shell, recordExecs: true, secrets: secretsFor(rendered.statefulSet, OLD) });
      const replica = await startRedisPod(rendered, 1, { shell, recordExecs: true, primaryPort: primary.port, secrets: secretsFor(rendered.statefulSet, OLD) });
      const pods = [primary, replica];
      const replicaClient = await connect(replica, { password: OLD });
      await eventually('master_link_status:up', async () => (await info(replicaClient, 'replication')).master_link_status === 'up');
      for (const pod of pods) await eventually(`${pod.name}'s agent to start`, async () => agentStatus(pod).includes('auth=current'));

      // A client that keeps writing, with the password it started with, reconnecting if it must.
      const app = new Redis({ host: '127.0.0.1', port: primary.port, password: OLD, retryStrategy: () => 50, maxRetriesPerRequest: 2 });
      app.on('error', () => undefined);
      onCleanup(async () => { app.disconnect(); });
      const failures: string[] = [];
      let ok = 0;
      let running = true;
      const traffic = (async () => {
        for (let i = 0; running; i++) {
          try {
            await app.set('k', String(i));
            ok++;
          } catch (e) {
            failures.push((e as Error).message);
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      // The replica's link, watched throughout.
      const linkStates = new Set<string>();
      const watch = (async () => {
        while (running) {
          linkStates.add((await info(replicaClient, 'replication')).master_link_status);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      // The kubelet updates the Secret volumes; each agent applies the new password.
      for (const pod of pods) pod.updateSecrets(secretsFor(rendered.statefulSet, NEW));
      for (const pod of pods) await eventually(`${pod.name} to rotate`, async () => /auth=rotating until \d+/.test(agentStatus(pod)), 10_000);
      // Both passwords work during the grace period: a new client, and the app reconnecting with the old one.
      for (const pod of pods) {
        expect(pingWith(pod, OLD), `${pod.name}, old password (grace)`).toBe('PONG');
        expect(pingWith(pod, NEW), `${pod.name}, new password (grace)`).toBe('PONG');
      }
      const fresh = await connect(primary, { password: NEW });
      app.disconnect(true);
      await eventually('the app to reconnect with the old password', async () => (await app.ping()) === 'PONG');
      expect(await configGet(replicaClient, 'masterauth')).toBe(NEW);
      for (const pod of pods) {
        for (const kind of ['readiness', 'liveness'] as const) expect(await pod.runProbe(kind), `${pod.name} ${kind} (grace)`).toMatchObject({ exitCode: 0 });
      }

      // After the grace period only the new password works.
      for (const pod of pods) await eventually(`${pod.name} to drop the old password`, async () => agentStatus(pod).includes('auth=current'), (GRACE_SECONDS + 6) * 1000);
      running = false;
      await Promise.all([traffic, watch]);
      for (const pod of pods) {
        expect(pingWith(pod, OLD), `${pod.name}, old password`).toMatch(/^AUTH failed: WRONGPASS invalid username-password pair or user is disabled\.\nNOAUTH Authentication required\.$/);
        expect(pingWith(pod, NEW), `${pod.name}, new password`).toBe('PONG');
      }

      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(50);
      expect([...linkStates]).toEqual(['up']);
      for (const pod of pods) {
        for (const kind of ['readiness', 'liveness'] as const) expect(await pod.runProbe(kind), `${pod.name} ${kind} (after)`).toMatchObject({ exitCode: 0 });
        expect(pod.alive).toBe(true);
        expect(pod.sidecars[AGENT_CONTAINER_NAME].alive).toBe(true);
      }
      expect((await info(fresh, 'server')).process_id).toBe(String(primary.pid));
      expect((await info(replicaClient, 'server')).process_id).toBe(String(replica.pid));

      // The replica re-authenticates to the primary with the new password once its link drops.
      await fresh.client('KILL', 'TYPE', 'replica');
      await eventually('the replica to link again', async () => (await info(replicaClient, 'replication')).master_link_status === 'up');
      // A restarted redis container would start with the new password: the runtime include follows.
      expect(readFileSync(replica.runtimeConf, 'utf8')).toMatch(/^replicaof 127\.0\.0\.1 \d+\nrequirepass "n3w-Secret\\\\\\"-pass\\n"\nmasterauth "n3w-Secret\\\\\\"-pass\\n"\n$/);

      // The new password is in no rendered object, no file but the Secret volume and the
      // runtime include, no argument list and no output.
      expect(renderedText(rendered)).not.toContain('n3w-Secret');
      for (const pod of pods) {
        expect(filesContaining(pod.root, 'n3w-Secret').filter((f) => !f.startsWith('volumes/auth/'))).toEqual(['volumes/runtime/runtime.conf']);
        expect(filesContaining(pod.dataDir, 'n3w-Secret')).toEqual([]);
        expect(cmdline(pod.pid)).not.toContain('n3w-Secret');
        const agent = pod.sidecars[AGENT_CONTAINER_NAME];
        expect(cmdline(agent.pid)).not.toContain('n3w-Secret');
        expect(Object.values(agent.env).join('\n')).not.toContain('n3w-Secret');
        expect(agent.logs()).toContain('new password in force; the old one is accepted for 3 s more');
        expect(agent.logs()).toContain('grace period over: only the new password is accepted');
        expect(agent.logs() + pod.logs() + agentStatus(pod)).not.toContain('n3w-Secret');
        // Every program the agent and the probes ran, as /proc showed it while they ran.
        const log = pod.execLog();
        expect(log).toMatch(/redis-cli -h 127\.0\.0\.1 -p \d+ -x acl setuser default resetpass/);
        expect(log).not.toContain('n3w-Secret');
        expect(log).not.toContain('old "pass"');
      }
    }, 60_000);
  });
}

describe('password rotation with failover on', () => {
  it('Sentinel\'s auth-pass follows the new password (SENTINEL SET, through stdin)', async () => {
    const spec: RedisInstanceSpec = { image: 'redis:7.2.4', auth: { secretName: 'auth', rotationGracePeriodSeconds: 1 } };
    const rendered = renderSpec(spec);
    // The failover work adds SENTINEL_PORT and INSTANCE to the agent's env; set them here,
    // pointing at a real Sentinel (redis-server --sentinel) that monitors this pod.
    const sentinelPort = await freePort();
    const agent = rendered.statefulSet.spec!.template.spec!.containers.find((c) => c.name === AGENT_CONTAINER_NAME)!;
    agent.env = [...agent.env!, { name: 'SENTINEL_PORT', value: String(sentinelPort) }, { name: 'INSTANCE', value: 'cache' }];
    const pod = await startRedisPod(rendered, 0, { recordExecs: true, secrets: secretsFor(rendered.statefulSet, OLD) });
    const dir = makeTempDir('sentinel-');
    const conf = join(dir, 'sentinel.conf');
    // As the rendered Sentinel: with spec.auth its default user has the instance's password.
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\ndir ${JSON.stringify(dir)}\nrequirepass ${JSON.stringify(OLD)}\nsentinel monitor cache 127.0.0.1 ${pod.port} 1\n`);
    const sentinel = spawn(redisBinaries().server, [conf, '--sentinel'], { stdio: 'ignore' });
    onCleanup(async () => { sentinel.kill('SIGKILL'); });
    const sentinelClient = await (async () => {
      for (;;) {
        try { return await connect({ port: sentinelPort }, { password: OLD }); } catch { await new Promise((r) => setTimeout(r, 50)); }
      }
    })();
    expect(String(await sentinelClient.call('SENTINEL', 'SET', 'cache', 'auth-pass', OLD))).toBe('OK');

    pod.updateSecrets(secretsFor(rendered.statefulSet, NEW));
    // Sentinel rewrites its config file after SENTINEL SET: the new auth-pass is there, byte
    // for byte (Redis 7.0 writes it unquoted: see docs/live-changes.md, "Limits").
    await eventually('Sentinel to get the new auth-pass', async () => readFileSync(conf, 'utf8').includes(`sentinel auth-pass cache ${NEW}`), 10_000);
    await eventually('the agent to finish the rotation', async () => pod.sidecars[AGENT_CONTAINER_NAME].logs().includes('new password in force'));
    expect(pod.sidecars[AGENT_CONTAINER_NAME].logs()).not.toContain('auth-pass failed');
    expect(pod.execLog()).toMatch(/redis-cli -h 127\.0\.0\.1 -p \d+ -x sentinel set cache auth-pass/);
    expect(pod.execLog()).not.toContain('n3w-Secret');
  }, 30_000);
});
