import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REDIS_CONFIG } from '../../src/redis-conf/render';
import {
  cleanupRedisPods, configGet, connect, makeTempDir, redisBinaries, renderSpec, secretsFor, shippedInstances, startRedisPod,
} from '../support/redis';
import { tlsSecretsFor } from '../support/tls';

/**
 * The rendered redis.conf starts a real redis-server, and the server runs with the values
 * the spec asked for: every example this repository ships, and a matrix of user keys.
 */

beforeAll(() => {
  // Fails every test of this file, with the install command, when Redis is missing.
  const { version } = redisBinaries();
  console.log(`testing against ${version}`);
});
afterEach(cleanupRedisPods);

it('runs Redis 7 or newer (the images we render are redis:7.x)', () => {
  expect(redisBinaries().semver[0]).toBeGreaterThanOrEqual(7);
});

/** What CONFIG GET shows for a value as written in redis.conf: memory units in bytes, event flags in Redis's order. */
function asConfigGet(key: string, value: string): string {
  const memory = /^(\d+)(k|kb|m|mb|g|gb)$/i.exec(value);
  if (memory) {
    const unit = { k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }[memory[2].toLowerCase() as 'k'];
    return String(Number(memory[1]) * unit);
  }
  if (key === 'notify-keyspace-events') return [...value].sort().join('');
  return value;
}

function sortedIfFlags(key: string, value: string): string {
  return key === 'notify-keyspace-events' ? [...value].sort().join('') : value;
}

describe('the shipped examples', () => {
  const examples = shippedInstances();

  it('include the YAML instances and the TypeScript one', () => {
    expect(examples.map((e) => e.instance)).toEqual(expect.arrayContaining(['data/analytics', 'web/cache', 'shop/sessions']));
  });

  for (const example of examples) {
    it(`${example.instance}: redis-server starts on the rendered redis.conf with the spec's values and the defaults`, async () => {
      const password = 'example password "with" \\ specials';
      const auth = example.redisInstance.spec.auth !== undefined;
      // With spec.tls: a certificate from a CA made with openssl, in the Secret the pod mounts.
      const tlsSecrets = tlsSecretsFor(example.statefulSet, makeTempDir('redis-ca-'));
      const pod = await startRedisPod(example, 0, { secrets: { ...secretsFor(example.statefulSet, password), ...tlsSecrets } });
      const client = await connect(pod, { ...(auth ? { password } : {}), ...(pod.tls ? { tls: pod.tls } : {}) });
      const config = example.redisInstance.spec.config ?? {};
      for (const [key, value] of Object.entries(config)) {
        expect.soft(sortedIfFlags(key, await configGet(client, key)), key).toBe(asConfigGet(key, value));
      }
      expect(await configGet(client, 'appendonly')).toBe(config.appendonly ?? DEFAULT_REDIS_CONFIG.appendonly);
      expect(await configGet(client, 'appendfsync')).toBe(config.appendfsync ?? DEFAULT_REDIS_CONFIG.appendfsync);
      expect(await configGet(client, 'protected-mode')).toBe(config['protected-mode'] ?? 'no');
      expect(await configGet(client, 'dir')).toBe(realpathSync(pod.dataDir));
      expect(await configGet(client, 'requirepass')).toBe(auth ? password : '');
    });
  }
});

/** [key, value in spec.config, what CONFIG GET must return]. Keys valid in Redis 7.0 and later. */
const MATRIX: ReadonlyArray<readonly [string, string, string]> = [
  ['maxmemory', '100mb', '104857600'],
  ['maxmemory', '2gb', '2147483648'],
  ['maxmemory', '1000000', '1000000'],
  ['maxmemory-policy', 'allkeys-lfu', 'allkeys-lfu'],
  ['maxmemory-policy', 'noeviction', 'noeviction'],
  ['maxmemory-samples', '10', '10'],
  ['maxmemory-clients', '10%', '10%'],
  ['save', '', ''],
  ['save', '3600 1 300 100 60 10000', '3600 1 300 100 60 10000'],
  ['appendonly', 'no', 'no'],
  ['appendfsync', 'always', 'always'],
  ['appendfsync', 'no', 'no'],
  ['appendfilename', 'cache.aof', 'cache.aof'],
  ['aof-use-rdb-preamble', 'no', 'no'],
  ['dbfilename', 'cache.rdb', 'cache.rdb'],
  ['rdbcompression', 'no', 'no'],
  ['stop-writes-on-bgsave-error', 'no', 'no'],
  ['hz', '50', '50'],
  ['notify-keyspace-events', 'KEA', 'AKE'],
  ['notify-keyspace-events', 'Ex', 'xE'],
  ['timeout', '300', '300'],
  ['tcp-keepalive', '60', '60'],
  ['tcp-backlog', '128', '128'],
  ['databases', '4', '4'],
  ['loglevel', 'warning', 'warning'],
  ['maxclients', '100', '100'],
  ['io-threads', '2', '2'],
  ['slowlog-log-slower-than', '5000', '5000'],
  ['slowlog-max-len', '256', '256'],
  ['latency-monitor-threshold', '100', '100'],
  ['busy-reply-threshold', '2000', '2000'],
  ['client-output-buffer-limit', 'normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60',
    'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60'],
  ['repl-backlog-size', '16mb', '16777216'],
  ['min-replicas-to-write', '1', '1'],
  ['replica-serve-stale-data', 'no', 'no'],
  ['lazyfree-lazy-eviction', 'yes', 'yes'],
  ['activerehashing', 'no', 'no'],
  ['hash-max-listpack-entries', '256', '256'],
  ['set-max-intset-entries', '1024', '1024'],
  ['lfu-log-factor', '20', '20'],
  ['proto-max-bulk-len', '64mb', '67108864'],
  ['protected-mode', 'yes', 'yes'],
];

describe('a matrix of user config keys', () => {
  it.each(MATRIX)('%s %j: redis-server starts and CONFIG GET returns %j', async (key, value, expected) => {
    const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4', config: { [key]: value } }), 0);
    const client = await connect(pod);
    expect(await configGet(client, key)).toBe(expected);
  });

  it('all of them at once (last value of each key)', async () => {
    const config = Object.fromEntries(MATRIX.map(([key, value]) => [key, value]));
    const expected = Object.fromEntries(MATRIX.map(([key, , value]) => [key, value]));
    const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4', config }), 0);
    const client = await connect(pod);
    for (const [key, value] of Object.entries(expected)) expect.soft(await configGet(client, key), key).toBe(value);
  });
});

describe('the defaults', () => {
  it('are in force: AOF on, fsync every second, data in the data volume', async () => {
    const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4' }), 0);
    const client = await connect(pod);
    expect(await configGet(client, 'appendonly')).toBe('yes');
    expect(await configGet(client, 'appendfsync')).toBe('everysec');
    expect(await configGet(client, 'dir')).toBe(realpathSync(pod.dataDir));
    expect(await configGet(client, 'port')).toBe(String(pod.port));
    expect(await configGet(client, 'protected-mode')).toBe('no');
    await client.set('k', 'v');
    // The AOF lives on the data volume (Redis 7: appendonlydir/ under dir).
    expect(existsSync(join(pod.dataDir, 'appendonlydir'))).toBe(true);
  });

  it('are overridden by user keys, not repeated', async () => {
    const pod = await startRedisPod(renderSpec({ image: 'redis:7.2.4', config: { appendonly: 'no', appendfsync: 'always' } }), 0);
    const client = await connect(pod);
    expect(await configGet(client, 'appendonly')).toBe('no');
    expect(await configGet(client, 'appendfsync')).toBe('always');
  });
});
