import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import {
  cleanupRedisPods, connect, redisBinaries, renderSpec, secretsFor, shippedInstances, startRedisPod, type RenderedPodSource,
} from '../support/redis';

/**
 * Data survives a restart: write, stop the server the way the kubelet does (SIGTERM), start
 * the pod again on the same data volume with the same rendered config, read it back.
 */

beforeAll(() => { redisBinaries(); });
afterEach(cleanupRedisPods);

async function writeData(client: Redis): Promise<void> {
  const pipeline = client.pipeline();
  for (let i = 0; i < 500; i++) pipeline.set(`key:${i}`, `value-${i}`);
  pipeline.hset('hash', { a: '1', b: '2' });
  pipeline.rpush('list', 'x', 'y', 'z');
  pipeline.zadd('scores', 1, 'one', 2, 'two');
  await pipeline.exec();
}

async function expectData(client: Redis): Promise<void> {
  expect(await client.dbsize()).toBe(503);
  expect(await client.get('key:0')).toBe('value-0');
  expect(await client.get('key:499')).toBe('value-499');
  expect(await client.hgetall('hash')).toEqual({ a: '1', b: '2' });
  expect(await client.lrange('list', 0, -1)).toEqual(['x', 'y', 'z']);
  expect(await client.zrange('scores', 0, -1)).toEqual(['one', 'two']);
}

async function restartKeepsData(source: RenderedPodSource, password?: string): Promise<string> {
  const secrets = password === undefined ? {} : secretsFor(source.statefulSet, password);
  const auth = password === undefined ? {} : { password };
  const first = await startRedisPod(source, 0, { secrets });
  await writeData(await connect(first, auth));
  // Redis exits 0 on SIGTERM once it has flushed the AOF and/or saved the RDB.
  expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  const second = await startRedisPod(source, 0, { secrets, dataDir: first.dataDir });
  await expectData(await connect(second, auth));
  return first.dataDir;
}

describe('data survives a restart (SIGTERM, then the same config and data volume)', () => {
  it('with the defaults (AOF, fsync every second)', async () => {
    const dataDir = await restartKeepsData(renderSpec({ image: 'redis:7.2.4' }));
    expect(existsSync(join(dataDir, 'appendonlydir'))).toBe(true);
  });

  it('with RDB snapshots only (the shipped example data/analytics)', async () => {
    const analytics = shippedInstances().find((e) => e.instance === 'data/analytics')!;
    expect(analytics.redisInstance.spec.config).toMatchObject({ appendonly: 'no' });
    const dataDir = await restartKeepsData(analytics);
    expect(existsSync(join(dataDir, 'dump.rdb'))).toBe(true);
    expect(existsSync(join(dataDir, 'appendonlydir'))).toBe(false);
  });

  it('with a password (the shipped example shop/sessions, pod 0)', async () => {
    const sessions = shippedInstances().find((e) => e.instance === 'shop/sessions')!;
    await restartKeepsData(sessions, 'restart "pass" \\ word');
  });

  it('when the config changes from AOF to RDB-only', async () => {
    const before = await startRedisPod(renderSpec({ image: 'redis:7.2.4' }), 0);
    await writeData(await connect(before));
    expect(await before.stop()).toEqual({ code: 0, signal: null });
    const after = await startRedisPod(renderSpec({ image: 'redis:7.2.4', config: { appendonly: 'no' } }), 0, { dataDir: before.dataDir });
    await expectData(await connect(after));
  });

  // With `appendonly yes` and no AOF on the volume, Redis ignores dump.rdb and starts EMPTY
  // (redis/redis#1826, #2574): removing `appendonly: "no"` from a spec would restart pod 0
  // empty and the replicas would then sync the empty dataset. The init container writes
  // the AOF from dump.rdb first (see aof-migration.test.ts).
  it('when the config changes from RDB-only to AOF (the default)', async () => {
    const before = await startRedisPod(renderSpec({ image: 'redis:7.2.4', config: { appendonly: 'no' } }), 0);
    await writeData(await connect(before));
    expect(await before.stop()).toEqual({ code: 0, signal: null });
    expect(existsSync(join(before.dataDir, 'appendonlydir'))).toBe(false);
    const after = await startRedisPod(renderSpec({ image: 'redis:7.2.4' }), 0, { dataDir: before.dataDir });
    await expectData(await connect(after));
    expect(after.init[0].stderr).toContain('writing the AOF from it before Redis starts with appendonly yes');
    expect(existsSync(join(before.dataDir, 'appendonlydir', 'appendonly.aof.manifest'))).toBe(true);
  });
});
