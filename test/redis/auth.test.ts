import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  InitContainerError, cleanupRedisPods, configGet, connect, eventually, info, redisBinaries, renderSpec, renderedText,
  secretsFor, shippedInstances, startRedisPod, type RedisPod,
} from '../support/redis';

/**
 * With spec.auth the password travels only as the construct delivers it: from the Secret
 * into the init container's env (written to the runtime include on a memory emptyDir) and
 * into the redis container's env as REDISCLI_AUTH for the probes.
 */

beforeAll(() => { redisBinaries(); });
afterEach(cleanupRedisPods);

/**
 * A password with the characters redis.conf quoting cares about (quotes, backslashes,
 * spaces, a newline inside and one at the end), and a token to search for.
 */
function makePassword(): { password: string; token: string } {
  const token = `tok${randomBytes(8).toString('hex')}`;
  return { token, password: `${token} with "quotes",\nback\\slashes\\ and  spaces \\"x\\" end\\\n` };
}

const rendered = renderSpec({
  image: 'redis:7.2.4',
  replicas: 2,
  auth: { secretName: 'cache-auth', secretKey: 'redis-password' },
  config: { 'repl-diskless-sync-delay': '0' },
});

/** Every file under `dir` whose content contains `needle`, relative to `dir`. */
function filesContaining(dir: string, needle: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) walk(path);
      else if (stat?.isFile() && readFileSync(path).includes(needle)) out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out;
}

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
}

describe('password authentication', () => {
  let password: string;
  let token: string;
  let primary: RedisPod;
  let replica: RedisPod;

  beforeAll(() => { ({ password, token } = makePassword()); });

  async function startBoth() {
    const secrets = secretsFor(rendered.statefulSet, password);
    expect(secrets).toEqual({ 'cache-auth': { 'redis-password': password } });
    primary = await startRedisPod(rendered, 0, { secrets, recordExecs: true });
    replica = await startRedisPod(rendered, 1, { secrets, primaryPort: primary.port, recordExecs: true });
  }

  it('refuses unauthenticated commands and accepts the password from the Secret, exactly', async () => {
    await startBoth();
    for (const pod of [primary, replica]) {
      const anonymous = await connect(pod);
      await expect(anonymous.get('k')).rejects.toThrow(/^NOAUTH Authentication required/);
      await expect(anonymous.auth('wrong')).rejects.toThrow(/^WRONGPASS/);
      await expect(anonymous.auth(password.slice(0, -1))).rejects.toThrow(/^WRONGPASS/);
      expect(await anonymous.auth(password)).toBe('OK');
      expect(await configGet(anonymous, 'requirepass')).toBe(password);
      expect(await configGet(anonymous, 'masterauth')).toBe(password);
    }
    const client = await connect(primary, { password });
    expect(await client.set('k', 'v')).toBe('OK');
    expect(await client.get('k')).toBe('v');
  });

  it('the replica authenticates to the primary and replicates', async () => {
    await startBoth();
    const primaryClient = await connect(primary, { password });
    const replicaClient = await connect(replica, { password });
    await eventually('master_link_status:up', async () => (await info(replicaClient, 'replication')).master_link_status === 'up');
    await primaryClient.set('secret-data', '42');
    expect(await primaryClient.wait(1, 5_000)).toBe(1);
    expect(await replicaClient.get('secret-data')).toBe('42');
  });

  it('the password appears in no rendered object, no file but the Secret volume and the runtime include, and no argument list', async () => {
    await startBoth();
    // Readiness of a replica waits for its link to the primary.
    const replicaClient = await connect(replica, { password });
    await eventually('master_link_status:up', async () => (await info(replicaClient, 'replication')).master_link_status === 'up');
    for (const pod of [primary, replica]) {
      expect((await pod.runProbe('readiness')).exitCode).toBe(0);
      expect((await pod.runProbe('liveness')).exitCode).toBe(0);
    }

    // Rendered objects: the instance and every child, serialised.
    expect(renderedText(rendered)).not.toContain(token);
    // Files: only the runtime include (a memory-backed emptyDir) holds it, in each pod.
    for (const pod of [primary, replica]) {
      // ...and the Secret volume (tmpfs in a pod), as the kubelet projects it: `password -> ..data/password`.
      const files = filesContaining(pod.root, token);
      expect(files.filter((f) => !f.startsWith('volumes/auth/'))).toEqual(['volumes/runtime/runtime.conf']);
      expect(files).toContain('volumes/auth/password');
      expect(filesContaining(pod.dataDir, token)).toEqual([]);
    }
    // Argument lists: the running redis-servers, as the kernel shows them.
    for (const pod of [primary, replica]) {
      const args = cmdline(pod.pid);
      expect(args).toContain('redis-server');
      expect(args).not.toContain(token);
      expect(pod.argv.join(' ')).not.toContain(token);
    }
    // The init containers' and probes' processes: the shell that ran each script and every
    // program it ran (sed, mv, redis-cli, grep), read from /proc while they ran.
    for (const pod of [primary, replica]) {
      for (const run of pod.init) expect(run.argv.join(' ')).not.toContain(token);
      const log = pod.execLog();
      expect(log).toMatch(/\/bin\/sed /);
      expect(log).toMatch(/\/bin\/mv /);
      expect(log).toMatch(/\/bin\/redis-cli -h 127\.0\.0\.1 -p \d+ ping/);
      expect(log).toMatch(/sh -c set -eu/);
      expect(log).not.toContain(token);
    }
  });

  it('the shipped example shop/sessions delivers its Secret the same way', async () => {
    const sessions = shippedInstances().find((e) => e.instance === 'shop/sessions')!;
    expect(sessions.text).not.toContain(token);
    const pod = await startRedisPod(sessions, 0, { secrets: { 'sessions-redis-auth': { password } } });
    await expect((await connect(pod)).ping()).rejects.toThrow(/^NOAUTH/);
    expect(await (await connect(pod, { password })).ping()).toBe('PONG');
  });

  it('an empty password in the Secret stops the pod in its init container', async () => {
    const error = await startRedisPod(rendered, 0, { secrets: secretsFor(rendered.statefulSet, '') }).catch((e) => e);
    expect(error).toBeInstanceOf(InitContainerError);
    expect(error.message).toContain('the password in the auth Secret is empty');
  });

  // A Secret made with `echo pw > file` ends with a newline: Redis must get it too, or
  // REDISCLI_AUTH and the clients (which send "pw\n") never authenticate. The init script
  // writes each newline as \n inside the quoted redis.conf string.
  for (const shell of ['sh', 'busybox'] as const) {
    it(`a password with newlines (e.g. a trailing one from echo) works like any other (${shell})`, async () => {
      for (const withNewline of ['pw\n', 'two\nlines', '\n\nleading and trailing\n\n', 'back\\\nslash\\']) {
        const secrets = secretsFor(rendered.statefulSet, withNewline);
        const first = await startRedisPod(rendered, 0, { secrets, shell });
        const second = await startRedisPod(rendered, 1, { secrets, shell, primaryPort: first.port });
        for (const pod of [first, second]) {
          const client = await connect(pod, { password: withNewline });
          expect(await configGet(client, 'requirepass')).toBe(withNewline);
          expect(await configGet(client, 'masterauth')).toBe(withNewline);
          await expect((await connect(pod)).auth(withNewline.replace(/\n/g, ''))).rejects.toThrow(/^WRONGPASS/);
        }
        // masterauth works: the replica authenticates to the primary; then both pods are ready.
        const replicaClient = await connect(second, { password: withNewline });
        await eventually('master_link_status:up', async () => (await info(replicaClient, 'replication')).master_link_status === 'up');
        for (const pod of [first, second]) expect((await pod.runProbe('readiness')).exitCode, JSON.stringify(withNewline)).toBe(0);
      }
    });
  }
});
