import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { REDIS_CONFIG_KEYS, WIRING_CONFIG_KEYS, isLiveKey } from '../../src/redis-conf/live-keys';
import { MANAGED_CONFIG_KEYS, READ_CONFIG_KEYS, SECRET_CONFIG_KEYS } from '../../src/redis-conf/config-rules';
import { cleanupRedisPods, connect, eventually, freePort, makeTempDir, redisBinaries } from '../support/redis';

/**
 * The live/restart-only table (src/redis-conf/live-keys.ts) against the redis-server CI
 * runs: it lists exactly the keys the server knows, and `CONFIG SET <key> <current value>`
 * (a valid value by construction) is accepted for the live keys and refused, with Redis's
 * own reason, for the others.
 */

let server: ChildProcess;
let client: Redis;

beforeAll(async () => {
  const { server: bin } = redisBinaries();
  const port = await freePort();
  const dir = makeTempDir('live-keys-');
  server = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await eventually('redis-server to answer', async () => {
    client = await connect({ port });
    return (await client.ping()) === 'PONG';
  });
});
afterAll(async () => {
  server?.kill('SIGKILL');
  await cleanupRedisPods();
});

async function allKeys(): Promise<string[]> {
  const reply = (await client.config('GET', '*')) as string[];
  return reply.filter((_, i) => i % 2 === 0).sort();
}

async function current(key: string): Promise<string> {
  const reply = (await client.config('GET', key)) as string[];
  expect(reply[0], `CONFIG GET ${key}`).toBe(key);
  return reply[1];
}

async function trySet(key: string, value: string): Promise<string> {
  try {
    return String(await client.config('SET', key, value));
  } catch (e) {
    return (e as Error).message;
  }
}

it('covers Redis 7.0 (the version docs/live-changes.md names)', () => {
  expect(redisBinaries().semver.slice(0, 2)).toEqual([7, 0]);
});

it('lists exactly the keys CONFIG GET * reports (a new or dropped key fails here, named)', async () => {
  const known = await allKeys();
  const table = [...REDIS_CONFIG_KEYS.keys()].sort();
  expect({ missingFromTable: known.filter((k) => !REDIS_CONFIG_KEYS.has(k)), unknownToRedis: table.filter((k) => !known.includes(k)) })
    .toEqual({ missingFromTable: [], unknownToRedis: [] });
});

describe('CONFIG SET of each key with its current value', () => {
  for (const [key, kind] of REDIS_CONFIG_KEYS) {
    it(`${key}: ${kind}`, async () => {
      const answer = await trySet(key, await current(key));
      if (kind === 'live') expect(answer).toBe('OK');
      else expect(answer).toBe(`ERR CONFIG SET failed (possibly related to argument '${key}') - can't set ${kind} config`);
    });
  }
});

it('the restart-only keys the issue names, and our wiring, are not live', () => {
  for (const key of ['databases', 'io-threads', 'appendfilename', 'appenddirname', 'cluster-enabled', 'cluster-node-timeout', 'daemonize', 'aclfile']) {
    expect(isLiveKey(key), key).toBe(false);
  }
  // Keys the validation refuses or the pod's wiring reads are never applied live.
  for (const key of [...MANAGED_CONFIG_KEYS, ...SECRET_CONFIG_KEYS, ...READ_CONFIG_KEYS, 'protected-mode']) expect(isLiveKey(key), key).toBe(false);
  expect(WIRING_CONFIG_KEYS.filter((k) => !REDIS_CONFIG_KEYS.has(k))).toEqual([]);
  // Directives that are no config, and keys of other versions: restart-only.
  for (const key of ['loadmodule', 'rename-command', 'include', 'user', 'no-such-key']) expect(isLiveKey(key), key).toBe(false);
  expect(isLiveKey('maxmemory')).toBe(true);
  expect(isLiveKey('maxmemory-policy')).toBe(true);
});
