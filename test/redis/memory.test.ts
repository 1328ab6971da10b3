import { afterEach, expect, it } from 'vitest';
import { cleanupRedisPods, configGet, connect, makeTempDir, renderSpec, shippedInstances, startRedisPod } from '../support/redis';
import { tlsSecretsFor } from '../support/tls';

/** maxmemory sized from the memory limit is what a real redis-server runs with. */

afterEach(cleanupRedisPods);

it.each([
  ['64Mi', '46976204'],
  ['3Gi', '2254857830'],
  ['750M', '525000000'],
  ['2G', '1400000000'],
  ['100000000', '70000000'],
])('a memory limit of %s runs redis-server with maxmemory %s', async (limit, maxmemory) => {
  const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4', resources: { limits: { memory: limit } } }), 0);
  const client = await connect(pod);
  expect(await configGet(client, 'maxmemory')).toBe(maxmemory);
});

it('the shipped web/cache (limit 128Mi, no maxmemory) runs with 70% of its limit', async () => {
  const cache = shippedInstances().find((e) => e.instance === 'web/cache')!;
  expect(cache.redisInstance.spec.config?.maxmemory).toBeUndefined();
  const pod = await startRedisPod(cache, 0, { secrets: tlsSecretsFor(cache.statefulSet, makeTempDir('redis-ca-')) });
  expect(await configGet(await connect(pod, { tls: pod.tls }), 'maxmemory')).toBe('93952409');
});

it('a user maxmemory wins over the derived one', async () => {
  const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4', resources: { limits: { memory: '1Gi' } }, config: { maxmemory: '100mb' } }), 0);
  expect(await configGet(await connect(pod), 'maxmemory')).toBe(String(100 * 1024 * 1024));
});
