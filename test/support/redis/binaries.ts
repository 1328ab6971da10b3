import { execFileSync } from 'node:child_process';
import { findExecutable, programPackages } from '../programs';

export { findExecutable };

/** The packages of redis-server and redis-cli from .ci/packages.txt; tests print this when one is missing. */
export const INSTALL_REDIS = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${
  [...new Set(['redis-server', 'redis-cli'].map((p) => programPackages().get(p)))].join(' ')} (from .ci/packages.txt)`;

export interface RedisBinaries {
  /** Absolute path of redis-server ($REDIS_SERVER, else `redis-server` on PATH). */
  readonly server: string;
  /** Absolute path of redis-cli ($REDIS_CLI, else `redis-cli` on PATH). */
  readonly cli: string;
  /** `redis-server --version`, e.g. `Redis server v=7.0.15 sha=... malloc=jemalloc-5.3.0 bits=64 ...`. */
  readonly version: string;
  /** Major.minor.patch parsed from `version`. */
  readonly semver: readonly [number, number, number];
}

function required(env: NodeJS.ProcessEnv, envVar: 'REDIS_SERVER' | 'REDIS_CLI', name: string): string {
  const wanted = env[envVar] || name;
  const found = findExecutable(wanted, env.PATH ?? '');
  if (found) return found;
  throw new Error(
    `${name} not found (${env[envVar] ? `$${envVar}=${wanted} is not an executable file` : `not on PATH; $${envVar} is not set`}). `
    + 'The Redis tests run a real server and do not skip. Install it with:\n'
    + `  ${INSTALL_REDIS}\n`
    + `or point $${envVar} at the binary.`,
  );
}

/**
 * Find the Redis binaries from `env` ($REDIS_SERVER, $REDIS_CLI, PATH). Throws when either
 * is missing, with the command that installs them.
 */
export function findRedisBinaries(env: NodeJS.ProcessEnv = process.env): RedisBinaries {
  const server = required(env, 'REDIS_SERVER', 'redis-server');
  const cli = required(env, 'REDIS_CLI', 'redis-cli');
  const version = execFileSync(server, ['--version'], { encoding: 'utf8' }).trim();
  const m = /v=(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`cannot read the version of ${server}: "${version}"`);
  return { server, cli, version, semver: [Number(m[1]), Number(m[2]), Number(m[3])] };
}

let cached: RedisBinaries | undefined;

/** The Redis binaries the tests run (found once per test file). Missing ones fail the tests loudly. */
export function redisBinaries(): RedisBinaries {
  cached ??= findRedisBinaries();
  return cached;
}
