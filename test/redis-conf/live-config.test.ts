import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  configChanges, liveConfigHash, liveValue, renderLiveConf, restartConfigHash, restartOnlyConf, splitConfig,
} from '../../src/redis-conf/live-config';
import { renderRedisConf } from '../../src/redis-conf/render';

describe('liveValue: what CONFIG SET gets', () => {
  it('is the value as Redis reads it: quotes and escapes resolved, arguments joined by one space', () => {
    expect(liveValue('100mb')).toBe('100mb');
    expect(liveValue('"3600 1" 300')).toBe('3600 1 300');
    expect(liveValue('900   1')).toBe('900 1');
    expect(liveValue('""')).toBe('');
    expect(liveValue("'{title} {listen-addr}'")).toBe('{title} {listen-addr}');
  });

  it('is undefined for what live.conf cannot carry: control characters, non-UTF-8, no argument, unbalanced quotes', () => {
    for (const value of ['"a\\tb"', '"a\\nb"', '"\\xff"', '   ', '"open', '"\\x7f"', '"\\xe2\\x80\\xa8"']) expect(liveValue(value), value).toBeUndefined();
  });
});

describe('splitConfig', () => {
  it('puts live keys with plain values in live, everything else (defaults, wiring, odd values, unknown keys) in restart', () => {
    expect(splitConfig({ maxmemory: '1gb', hz: '"a\\tb"', databases: '4', loadmodule: '/m.so', 'no-such-key': 'x' })).toEqual({
      live: { appendfsync: 'everysec', maxmemory: '1gb' },
      restart: {
        appendonly: 'yes', bind: '0.0.0.0', databases: '4', dir: '/data', hz: '"a\\tb"', loadmodule: '/m.so', 'no-such-key': 'x', port: '6379',
        'protected-mode': 'no',
      },
    });
  });
});

describe('live.conf and the hashes', () => {
  const config = { maxmemory: '100mb', 'maxmemory-policy': 'allkeys-lru', databases: '16' };

  it('renders one key<TAB>value line per live key after a header with the SHA-256 of those lines', () => {
    const body = 'appendfsync\teverysec\nmaxmemory\t100mb\nmaxmemory-policy\tallkeys-lru\n';
    const hash = createHash('sha256').update(body).digest('hex');
    expect(renderLiveConf(config)).toBe(`# live-config-hash ${hash}\n${body}`);
    expect(liveConfigHash(config)).toBe(hash);
  });

  it('the restart hash ignores live values, and sees restart-only values, the set of live keys and the wiring', () => {
    const h = restartConfigHash(config, ['script']);
    expect(restartConfigHash({ ...config, maxmemory: '2gb', 'maxmemory-policy': 'noeviction' }, ['script'])).toBe(h);
    expect(restartConfigHash({ ...config, databases: '32' }, ['script'])).not.toBe(h);
    expect(restartConfigHash({ databases: '16', maxmemory: '100mb' }, ['script'])).not.toBe(h);
    expect(restartConfigHash(config, ['script v2'])).not.toBe(h);
    expect(restartOnlyConf(config)).toBe('appendonly yes\nbind 0.0.0.0\ndatabases 16\ndir /data\nport 6379\nprotected-mode no\n'
      + '# live keys: appendfsync maxmemory maxmemory-policy\ninclude /run/redis/runtime.conf\n');
  });
});

describe('configChanges', () => {
  it('lists each key whose value differs, live only when the key is live and set on both sides', () => {
    const before = renderRedisConf({ maxmemory: '100mb', databases: '16', hz: '10' });
    const after = renderRedisConf({ maxmemory: '200mb', databases: '32', 'maxmemory-policy': 'allkeys-lru' });
    expect(configChanges(before, after)).toEqual([
      { key: 'databases', from: '16', to: '32', live: false },
      { key: 'hz', from: '10', live: false },
      { key: 'maxmemory', from: '100mb', to: '200mb', live: true },
      { key: 'maxmemory-policy', to: 'allkeys-lru', live: false },
    ]);
    expect(configChanges(undefined, after)).toEqual([]);
    expect(configChanges(after, after)).toEqual([]);
  });
});
