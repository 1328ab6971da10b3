import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateRedisInstance } from '../../src/api/validate';
import { ROLE_LABEL, selectorLabels } from '../../src/render/instance';
import { ROLE_AGENT_CONTAINER_NAME } from '../../src/render/role-agent';
import { TLS_DIR, tlsDnsNames } from '../../src/render/tls';
import { startTestApiServer, type TestApiServer } from '../support/apiserver';
import {
  cleanupRedisPods, eventually, makeTempDir, onCleanup, renderSpec, resolveEnv, secretsFor, startRedisPod,
} from '../support/redis';
import { issue, makeCa, tlsSecret } from '../support/tls';

/**
 * `redis-gitops role-agent` with the env the rendered role-agent container has under
 * spec.tls (only the TLS Secret's mount path moved to a folder here), against a real
 * redis-server serving TLS only with tls-auth-clients: the env names the renderer writes are
 * the ones the command reads, and the agent labels its pod over TLS.
 */

const NS = 'shop';
const NAME = 'sessions';
const ROOT = join(__dirname, '..', '..');
const PASSWORD = 'agent-pw';

let server: TestApiServer;
beforeEach(async () => { server = await startTestApiServer(); });
afterEach(async () => {
  await cleanupRedisPods();
  await server.stop();
});

describe('role agent over TLS', () => {
  it('reads the CA, certificate and key the StatefulSet names, checks localhost, and labels the pod', async () => {
    const spec = { image: 'redis:7.2.4', replicas: 3, auth: { secretName: 'pw' }, tls: { secretName: 'sessions-tls', authClients: true } };
    const resolved = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: NAME, namespace: NS }, spec });
    expect(resolved.issues).toEqual([]);
    const dir = makeTempDir('role-agent-tls-');
    const ca = makeCa(dir, 'ca');
    const secret = tlsSecret(ca, issue(ca, NAME, tlsDnsNames(resolved.instance!, `${NAME}-primary`)));
    for (const [file, content] of Object.entries(secret)) writeFileSync(join(dir, file), content);
    writeFileSync(join(dir, 'password'), PASSWORD);

    // The Redis pod without failover (the harness runs one redis-server; the agent needs only INFO here).
    const standalone = renderSpec({ ...spec, replicas: 1 }, NAME, NS);
    const redis = await startRedisPod(standalone, 0, { secrets: { ...secretsFor(standalone.statefulSet, PASSWORD), 'sessions-tls': secret } });

    const rendered = renderSpec(spec, NAME, NS);
    server.create(rendered.primaryService);
    server.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${NAME}-0`, namespace: NS, labels: selectorLabels(NAME) }, spec: { containers: [{ name: 'redis', image: 'redis:7.2.4' }] } });
    const container = rendered.statefulSet.spec!.template.spec!.containers.find((c) => c.name === ROLE_AGENT_CONTAINER_NAME)!;
    const env = resolveEnv(container.env, { name: `${NAME}-0`, namespace: NS, secrets: {} });
    const moved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith(`${TLS_DIR}/`) ? join(dir, v.slice(TLS_DIR.length + 1)) : v]));
    expect(Object.keys(moved).filter((k) => k.startsWith('REDIS_TLS_'))).toEqual(['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE', 'REDIS_TLS_SERVER_NAME']);

    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'role-agent', '--kubeconfig', server.writeKubeconfig(dir), '--poll-interval', '100'], {
      cwd: ROOT,
      env: { ...moved, PATH: process.env.PATH, REDIS_PORT: String(redis.port), REDIS_PASSWORD_FILE: join(dir, 'password') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    onCleanup(async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exit; } });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    const pod = () => server.get({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: `${NAME}-0` });
    await eventually('the label, over TLS', async () => pod().metadata.labels[ROLE_LABEL] === 'primary', 20_000);
    expect(err).toContain('(TLS, server name localhost)');
    expect(out).not.toContain('redis-unreachable');
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  }, 40_000);
});
