import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireProgram } from '../support/programs';
import { cleanupRedisPods, eventually, makeTempDir, onCleanup } from '../support/redis';

/**
 * ha-sentinel.sh when the Sentinel container restarts after a live rotation: Sentinel's own
 * rewrite of its file keeps the password it started with, so the script takes the password
 * lines from the runtime include (which the config agent keeps current). Run under dash and
 * busybox ash, with a stand-in redis-sentinel that records the file it is given.
 */

afterEach(cleanupRedisPods);
const SCRIPTS = join(__dirname, '..', '..', 'src', 'pod');

for (const shell of ['dash', 'busybox'] as const) {
  describe(`ha-sentinel.sh on a restart (${shell})`, () => {
    it('replaces requirepass, the default user, auth-pass and sentinel-pass by the runtime include\'s password; keeps the rest', async () => {
      const dir = makeTempDir('ha-sentinel-');
      const bin = join(dir, 'bin');
      const seen = join(dir, 'seen.conf');
      // Stand-ins: redis-sentinel records its config file; redis-cli fails (the guard just loops).
      mkdirSync(bin);
      writeFileSync(join(bin, 'redis-sentinel'), `#!/bin/sh\ncp "$1" ${JSON.stringify(seen)}\nexit 0\n`);
      writeFileSync(join(bin, 'redis-cli'), '#!/bin/sh\nexit 1\n');
      chmodSync(join(bin, 'redis-sentinel'), 0o755);
      chmodSync(join(bin, 'redis-cli'), 0o755);
      const sentinelDir = join(dir, 'sentinel');
      mkdirSync(sentinelDir);
      writeFileSync(join(sentinelDir, 'sentinel.conf'), [
        'port 26379', 'sentinel monitor cache cache-1.cache.shop.svc 6379 2', 'sentinel auth-pass cache old-pw', 'requirepass "old-pw"',
        'sentinel myid 0123', 'user default on #cba06b5736faf67e54b07b561eae94395e774c517a7d910a54369e1263ccfbd4 ~* &* +@all',
        'sentinel sentinel-pass new-pw', 'sentinel known-replica cache cache-2.cache.shop.svc 6379', '',
      ].join('\n'));
      const runtime = join(dir, 'runtime.conf');
      writeFileSync(runtime, 'replica-announce-ip cache-0.cache.shop.svc\nrequirepass "n\\"ew-pw"\nmasterauth "n\\"ew-pw"\n');
      const argv = shell === 'dash' ? [requireProgram('dash')] : [requireProgram('busybox'), 'sh'];
      const child = spawn(argv[0], [...argv.slice(1), join(SCRIPTS, 'ha-sentinel.sh')], {
        env: {
          PATH: `${bin}:/usr/bin:/bin`, POD_NAME: 'cache-0', POD_NAMESPACE: 'shop', INSTANCE: 'cache', REDIS_PORT: '6379',
          SENTINEL_PORT: '26379', SENTINEL_DIR: sentinelDir, RUNTIME_CONF: runtime, REPLICA_PRIORITY: '100', START_TIMEOUT_SECONDS: '1',
        },
        stdio: 'ignore', detached: true,
      });
      // The guard keeps running in the background: end the whole process group.
      onCleanup(async () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } });
      await eventually('redis-sentinel to be started', async () => existsSync(seen), 10_000);
      expect(readFileSync(seen, 'utf8')).toBe([
        'port 26379', 'sentinel monitor cache cache-1.cache.shop.svc 6379 2', 'sentinel myid 0123',
        'sentinel known-replica cache cache-2.cache.shop.svc 6379', 'sentinel auth-pass cache "n\\"ew-pw"', 'requirepass "n\\"ew-pw"', '',
      ].join('\n'));
    });
  });
}
