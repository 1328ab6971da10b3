import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LIVENESS_COMMAND, READINESS_COMMAND } from '../../src/render/instance';
import {
  cleanupRedisPods, connect, eventually, freePort, info, redisBinaries, redisContainer, renderSpec, secretsFor, startRedisPod,
} from '../support/redis';

/**
 * The rendered readiness and liveness commands, run as the kubelet runs them (in the redis
 * container's environment, within timeoutSeconds) against a live and a stopped server.
 */

beforeAll(() => { redisBinaries(); });
afterEach(cleanupRedisPods);

const KINDS = ['readiness', 'liveness'] as const;

describe('probes', () => {
  it('the StatefulSet carries the exec commands these tests run', () => {
    const redis = redisContainer(renderSpec({ image: 'redis:7.2.4' }).statefulSet);
    expect(redis.readinessProbe?.exec?.command).toEqual(READINESS_COMMAND);
    expect(redis.livenessProbe?.exec?.command).toEqual(LIVENESS_COMMAND);
  });

  it('exit 0 against a live server, non-zero once it is stopped', async () => {
    const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4' }), 0);
    for (const kind of KINDS) expect(await pod.runProbe(kind), kind).toMatchObject({ exitCode: 0 });
    await pod.stop();
    for (const kind of KINDS) expect((await pod.runProbe(kind)).exitCode, kind).not.toBe(0);
  });

  it('with auth: exit 0 with the password read from the Secret volume, non-zero with a wrong one or once stopped', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', auth: { secretName: 'auth' } });
    // A path, not the password: the probe's own shell reads the file into REDISCLI_AUTH.
    expect(redisContainer(rendered.statefulSet).env).toEqual([{ name: 'REDIS_PASSWORD_FILE', value: '/run/secrets/redis-gitops/password' }]);
    const password = 'probe "pass" \\ word\n';
    const pod = await startRedisPod(rendered, 0, { secrets: secretsFor(rendered.statefulSet, password) });
    expect(Object.values(pod.env)).not.toContain(password);
    for (const kind of KINDS) expect(await pod.runProbe(kind), kind).toMatchObject({ exitCode: 0 });
    // The probes really authenticate: a wrong password fails both (NOAUTH is neither PONG nor LOADING),
    // and so does the right one without its trailing newline.
    for (const wrong of ['wrong', password.trimEnd()]) {
      const file = join(pod.root, 'wrong-password');
      writeFileSync(file, wrong);
      for (const kind of KINDS) {
        expect((await pod.runProbe(kind, { env: { REDIS_PASSWORD_FILE: file } })).exitCode, kind).not.toBe(0);
      }
    }
    await pod.stop();
    for (const kind of KINDS) expect((await pod.runProbe(kind)).exitCode, kind).not.toBe(0);
  });

  it('a replica is ready only while its link to the primary is up, and alive either way; the primary is ready', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', replicas: 2, config: { 'repl-diskless-sync-delay': '0' } });
    const primary = await startRedisPod(rendered, 0);
    const replica = await startRedisPod(rendered, 1, { primaryPort: primary.port });
    const client = await connect(replica);
    await eventually('master_link_status:up', async () => (await info(client, 'replication')).master_link_status === 'up');
    for (const pod of [primary, replica]) {
      for (const kind of KINDS) expect(await pod.runProbe(kind), `${pod.name} ${kind}`).toMatchObject({ exitCode: 0 });
    }

    // The primary goes away: the replica still answers PONG (stale data), but is not ready.
    await primary.stop();
    await eventually('master_link_status:down', async () => (await info(client, 'replication')).master_link_status === 'down');
    expect(await client.ping()).toBe('PONG');
    expect((await replica.runProbe('readiness')).exitCode).not.toBe(0);
    expect(await replica.runProbe('liveness')).toMatchObject({ exitCode: 0 });
  });

  it('a replica that never reached its primary is alive but not ready', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4', replicas: 2 });
    const replica = await startRedisPod(rendered, 1, { primaryPort: await freePort() });
    expect(await (await connect(replica)).ping()).toBe('PONG');
    expect((await replica.runProbe('readiness')).exitCode).not.toBe(0);
    expect(await replica.runProbe('liveness')).toMatchObject({ exitCode: 0 });
  });

  it('lifecycle hooks, once the StatefulSet has them, run as the kubelet runs them', async () => {
    const rendered = renderSpec({ image: 'redis:7.2.4' });
    const statefulSet = structuredClone(rendered.statefulSet);
    const redis = redisContainer(statefulSet);
    const cli = 'redis-cli -h 127.0.0.1 -p 6379';
    redis.lifecycle = {
      postStart: { exec: { command: ['sh', '-c', `${cli} set hook post-start`] } },
      preStop: { exec: { command: ['sh', '-c', `${cli} set hook pre-stop`] } },
    };
    const pod = await startRedisPod({ statefulSet, configMap: rendered.configMap }, 0);
    expect(await (await connect(pod)).get('hook')).toBe('post-start');
    expect(await pod.stop()).toEqual({ code: 0, signal: null });
    const again = await startRedisPod({ statefulSet: rendered.statefulSet, configMap: rendered.configMap }, 0, { dataDir: pod.dataDir });
    expect(await (await connect(again)).get('hook')).toBe('pre-stop');
  });
});
