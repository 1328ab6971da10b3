import { spawn } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisInstanceSpec } from '../../src/api/types';
import { liveConfigHash } from '../../src/redis-conf/live-config';
import { AGENT_CONTAINER_NAME, AGENT_INTERVAL_SECONDS } from '../../src/render/config-agent';
import { CONFIG_HASH_ANNOTATION } from '../../src/render/instance';
import {
  cleanupRedisPods, configGet, connect, eventually, makeTempDir, onCleanup, redisBinaries, renderSpec, secretsFor, startRedisPod,
  type RedisPod,
} from '../support/redis';

/**
 * The config agent (src/pod/config-agent.sh) in its own container next to a real
 * redis-server, under dash and busybox ash: the harness projects the ConfigMap as the
 * kubelet does (a new `..data`), and the agent puts the live keys in force with CONFIG SET.
 */

beforeAll(() => { redisBinaries(); });
afterEach(cleanupRedisPods);

const base: RedisInstanceSpec = { image: 'redis:7.2.4', config: { maxmemory: '100mb', 'maxmemory-policy': 'allkeys-lru', databases: '16' } };
const withConfig = (config: Record<string, string>): RedisInstanceSpec => ({ ...base, config: { ...base.config, ...config } });

/** The agent's status line as fields (docs/live-changes.md). */
function status(pod: RedisPod): string[] | undefined {
  const file = join(pod.volumeDir('runtime'), 'agent-status');
  return existsSync(file) ? readFileSync(file, 'utf8').replace(/\n$/, '').split('\t') : undefined;
}

/** Within the agent's interval, plus the time to run its commands on a loaded machine. */
const APPLY_WITHIN_MS = AGENT_INTERVAL_SECONDS * 1000 + 3000;

for (const shell of ['sh', 'busybox'] as const) {
  describe(`the config agent (${shell === 'sh' ? 'dash' : 'busybox ash'})`, () => {
    async function start(spec: RedisInstanceSpec) {
      const rendered = renderSpec(spec);
      const pod = await startRedisPod(rendered, 0, { shell });
      await eventually('the agent to report the config in force', async () => status(pod)?.[0] === `config=${liveConfigHash(spec.config)}`);
      return { rendered, pod, client: await connect(pod) };
    }

    it('puts new maxmemory and maxmemory-policy in force within its interval (same process, same pod template), and leaves restart-only keys to the rollout', async () => {
      const { rendered, pod, client } = await start(base);
      expect(await configGet(client, 'maxmemory')).toBe(String(100 * 1024 * 1024));
      const next = renderSpec(withConfig({ maxmemory: '200mb', 'maxmemory-policy': 'allkeys-lfu' }));
      // The pod template, and so its hash, do not change: no rollout.
      expect(next.statefulSet.spec!.template).toEqual(rendered.statefulSet.spec!.template);
      pod.updateConfigMap(next.configMap);
      const changed = Date.now();
      await eventually('the new values in force', async () => await configGet(client, 'maxmemory') === String(200 * 1024 * 1024)
        && await configGet(client, 'maxmemory-policy') === 'allkeys-lfu', APPLY_WITHIN_MS);
      expect(Date.now() - changed).toBeLessThan(APPLY_WITHIN_MS);
      expect(pod.alive).toBe(true);
      expect((await client.info('server')).match(/process_id:(\d+)/)?.[1]).toBe(String(pod.pid));
      await eventually('the status to name the new hash', async () => status(pod)?.join('\t') === `config=${liveConfigHash(withConfig({ maxmemory: '200mb', 'maxmemory-policy': 'allkeys-lfu' }).config)}`);
      const logs = pod.sidecars[AGENT_CONTAINER_NAME].logs();
      expect(logs).toContain(`maxmemory: ${100 * 1024 * 1024} -> ${200 * 1024 * 1024} (CONFIG GET)`);
      expect(logs).toContain('maxmemory-policy: allkeys-lru -> allkeys-lfu (CONFIG GET)');
      expect(logs).toMatch(/applied: maxmemory maxmemory-policy; refused: none/);

      // A restart-only key is left to the rollout: the hash changes, the running server does not.
      const restart = renderSpec(withConfig({ maxmemory: '200mb', 'maxmemory-policy': 'allkeys-lfu', databases: '32' }));
      const hash = (r: typeof rendered) => r.statefulSet.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION];
      expect(hash(restart)).not.toBe(hash(rendered));
      pod.updateConfigMap(restart.configMap);
      const agent = pod.sidecars[AGENT_CONTAINER_NAME];
      await eventually('the agent to look at the new files', async () => agent.logs().split('live config').length === 4, APPLY_WITHIN_MS);
      expect(await configGet(client, 'databases')).toBe('16');
      expect(agent.logs()).toMatch(/applied: \(no change\); refused: none\n$/);
    });

    it('a value Redis refuses: the old one stays, the other key takes, and both are said (log and status)', async () => {
      const { pod, client } = await start(base);
      const next = renderSpec(withConfig({ maxmemory: '300mb', 'maxmemory-policy': 'most-recently-used' }));
      pod.updateConfigMap(next.configMap);
      const error = "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: "
        + 'volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction';
      const hash = liveConfigHash(withConfig({ maxmemory: '300mb', 'maxmemory-policy': 'most-recently-used' }).config);
      await eventually('the refusal in the status', async () => status(pod)?.join('\t') === `config=${hash}\trefused=maxmemory-policy ${error}`, APPLY_WITHIN_MS);
      expect(await configGet(client, 'maxmemory-policy')).toBe('allkeys-lru');
      expect(await configGet(client, 'maxmemory')).toBe(String(300 * 1024 * 1024));
      const logs = pod.sidecars[AGENT_CONTAINER_NAME].logs();
      expect(logs).toContain(`maxmemory-policy: Redis refused most-recently-used, allkeys-lru stays in force: ${error}`);
      expect(logs).toContain(`live config ${hash}: applied: maxmemory; refused: maxmemory-policy`);
      // It does not retry the same refused value every tick.
      await new Promise((r) => setTimeout(r, AGENT_INTERVAL_SECONDS * 1000 + 500));
      expect(pod.sidecars[AGENT_CONTAINER_NAME].logs().split('Redis refused').length).toBe(2);
    });
  });
}

describe('the config agent, run by hand next to a pod', () => {
  it('says once, in its log and status, when Redis does not accept the Secret\'s password (it changed while the agent was down)', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', auth: { secretName: 'auth' } });
    const pod = await startRedisPod(rendered, 0, { secrets: secretsFor(rendered.statefulSet, 'the-old-one') });
    const dir = makeTempDir('agent-');
    writeFileSync(join(dir, 'config-agent.sh'), rendered.configMap.data!['config-agent.sh']);
    writeFileSync(join(dir, 'live.conf'), rendered.configMap.data!['live.conf']);
    writeFileSync(join(dir, 'password'), 'a-new-one');
    const cliDir = makeTempDir('agent-bin-');
    symlinkSync(redisBinaries().cli, join(cliDir, 'redis-cli'));
    const agent = spawn('sh', [join(dir, 'config-agent.sh')], {
      env: {
        PATH: `${cliDir}:/usr/bin:/bin`, REDIS_PORT: String(pod.port), AGENT_STATUS: join(dir, 'status'), AGENT_INTERVAL_SECONDS: '1',
        REDIS_PASSWORD_FILE: join(dir, 'password'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    agent.stderr!.on('data', (c: Buffer) => { log += c.toString('utf8'); });
    onCleanup(async () => { agent.kill('SIGKILL'); });
    const said = 'refused Redis does not accept the password in the Secret (it was changed while this agent was not running); the pod needs a restart';
    await eventually('the status to say so', async () => existsSync(join(dir, 'status')) && readFileSync(join(dir, 'status'), 'utf8') === `config=\tauth=${said}\n`);
    await new Promise((r) => setTimeout(r, 2500));
    expect(log).toBe(`redis-gitops agent: ${said}\n`);
    // SIGTERM ends it at once (it is PID 1 of its container).
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
    expect(agent.exitCode).toBe(0);
  });
});
