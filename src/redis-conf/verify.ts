import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_REDIS_CONFIG, REDIS_PORT, RUNTIME_CONFIG_FILE } from './render';

/**
 * Check rendered redis.conf files with Redis itself.
 *
 * The CRD schema and our validation know the shape of `spec.config`, not what Redis
 * accepts: an unknown directive, `maxmemory-policy: nonsense` or `save: "abc"` pass
 * synth and only fail when the pod starts (CrashLoopBackOff). `verifyRedisConfigs`
 * starts a real `redis-server` on each distinct rendered config and reports Redis's own
 * error text, e.g.
 *
 *     *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
 *     Reading the configuration file, at line 6
 *     >>> 'maxmemory-policy nonsense'
 *     argument(s) must be one of the following: volatile-lru, ...
 *
 * Line numbers are those of the rendered redis.conf: the remapped lines below are
 * replaced one for one and the extra directives are appended after the last line.
 *
 * What is changed for the check, and nothing else (see `verifyConfLines`):
 * - `port 6379` → `port 0` (no TCP listener), plus `unixsocket` in a private temp dir;
 * - `dir /data` → an empty temp dir (Redis `chdir`s there while reading the file);
 * - `include /run/redis/runtime.conf` → an empty temp file (the init container writes the
 *   real one at pod start: `replicaof`, passwords);
 * - `pidfile` in the temp dir, so a user-set `pidfile` never writes outside it;
 * - with TLS (`tls-port 6379`): `tls-port 0` and `tls-replication no`, and `port <n>` →
 *   `port 0` whatever n (0, or the plain port of a migration): the check has no
 *   certificates, and Redis loads the TLS files only when a TLS port, TLS replication or
 *   TLS cluster bus is on. The other TLS directives are still read and checked.
 *
 * Use the same Redis major version as the image (CI: Debian's `redis-server` package, or
 * `--redis-server PATH`); directives that only exist in a newer Redis are reported as
 * errors by an older one. `loadmodule` paths must exist on the machine that runs the check.
 */

/** One instance's rendered config; several instances may share the same text. */
export interface RedisConfigToVerify {
  /** `namespace/name` of the RedisInstance. */
  readonly instance: string;
  /** The exact redis.conf in its ConfigMap (renderRedisConf output). */
  readonly redisConf: string;
}

export interface RedisConfigVerification {
  readonly instance: string;
  /** redis-server started and answered PING. */
  readonly ok: boolean;
  /** When not ok: Redis's own error output (the FATAL CONFIG FILE ERROR block), or why the check failed. */
  readonly error?: string;
}

export interface VerifyRedisConfigsOptions {
  /**
   * The redis-server binary: a path, or a name looked up on PATH.
   * @default 'redis-server'
   */
  readonly redisServer?: string;
  /**
   * How long one server may take to answer PING before it counts as failed.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /**
   * How many servers run at once.
   * @default 4
   */
  readonly concurrency?: number;
}

/** redis-server could not be run at all (not installed, not executable): nothing was checked. */
export class RedisServerNotFoundError extends Error {
  constructor(readonly redisServer: string, cause: unknown) {
    super(
      `cannot run redis-server "${redisServer}": ${cause instanceof Error ? cause.message : String(cause)}. `
      + 'Install it (Debian/Ubuntu: apt-get install redis-server) or give its path.',
    );
    this.name = 'RedisServerNotFoundError';
  }
}

/**
 * Replace whole lines of a config, one for one: each `from` must be exactly one line of
 * `text`, else this throws (a remap that silently matches nothing would test the wrong
 * file). Replacements never add lines, so line numbers stay those of the original.
 */
export function rewriteConfLines(text: string, replacements: ReadonlyArray<readonly [from: string, to: string]>): string {
  const lines = text.split('\n');
  for (const [from, to] of replacements) {
    if (/[\r\n]/.test(to)) throw new Error(`replacement for "${from}" must be a single line`);
    const at = lines.flatMap((line, i) => (line === from ? [i] : []));
    if (at.length !== 1) {
      throw new Error(at.length === 0 ? `line "${from}" not found in redis.conf` : `line "${from}" occurs ${at.length} times in redis.conf`);
    }
    lines[at[0]] = to;
  }
  return lines.join('\n');
}

/** A redis.conf argument in double quotes (paths from TMPDIR may hold spaces). */
export function quoteConfArg(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Where the check puts what the pod would have on its volumes. */
interface VerifyPaths {
  readonly dataDir: string;
  readonly runtimeConf: string;
  readonly socket: string;
  readonly pidFile: string;
}

/** The rendered redis.conf as the check runs it (see the module comment). */
export function verifyConfLines(redisConf: string, paths: VerifyPaths): string {
  const lines = redisConf.split('\n');
  const tls = lines.includes(`tls-port ${REDIS_PORT}`);
  const plainPort = tls ? lines.find((l) => /^port \d+$/.test(l)) : undefined;
  const remapped = rewriteConfLines(redisConf, [
    [`dir ${DEFAULT_REDIS_CONFIG.dir}`, `dir ${quoteConfArg(paths.dataDir)}`],
    ...(tls
      ? [[plainPort ?? 'port', 'port 0'], [`tls-port ${REDIS_PORT}`, 'tls-port 0'], ['tls-replication yes', 'tls-replication no']] as const
      : [[`port ${REDIS_PORT}`, 'port 0']] as const),
    [`include ${RUNTIME_CONFIG_FILE}`, `include ${quoteConfArg(paths.runtimeConf)}`],
  ]);
  return `${remapped}${remapped.endsWith('\n') ? '' : '\n'}${[
    `unixsocket ${quoteConfArg(paths.socket)}`,
    'unixsocketperm 700',
    `pidfile ${quoteConfArg(paths.pidFile)}`,
  ].join('\n')}\n`;
}

/**
 * Start each distinct rendered config once (deduplicated by content) on a unix socket
 * with no TCP port, wait until it answers PING or exits, stop it and clean up. Every
 * instance gets the result of its config, in input order. Throws
 * RedisServerNotFoundError when redis-server cannot be run at all.
 */
export async function verifyRedisConfigs(
  configs: ReadonlyArray<RedisConfigToVerify>,
  options: VerifyRedisConfigsOptions = {},
): Promise<RedisConfigVerification[]> {
  // A relative path is the caller's, not relative to the temp folder the server runs in.
  const given = options.redisServer ?? 'redis-server';
  const redisServer = given.includes('/') ? resolve(given) : given;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const distinct = [...new Set(configs.map((c) => c.redisConf))];
  const outcomes = new Map<string, { ok: boolean; error?: string }>();
  let next = 0;
  const worker = async () => {
    while (next < distinct.length) {
      const conf = distinct[next++];
      outcomes.set(conf, await verifyOne(conf, redisServer, timeoutMs));
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, distinct.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return configs.map(({ instance, redisConf }) => ({ instance, ...outcomes.get(redisConf)! }));
}

async function verifyOne(redisConf: string, redisServer: string, timeoutMs: number): Promise<{ ok: boolean; error?: string }> {
  const root = mkdtempSync(join(tmpdir(), 'redis-gitops-verify-'));
  const paths: VerifyPaths = {
    dataDir: join(root, 'data'),
    runtimeConf: join(root, 'runtime.conf'),
    socket: join(root, 'redis.sock'),
    pidFile: join(root, 'redis.pid'),
  };
  try {
    let conf: string;
    try {
      conf = verifyConfLines(redisConf, paths);
    } catch (error) {
      return { ok: false, error: `not a redis.conf rendered by redis-gitops: ${(error as Error).message}` };
    }
    mkdirSync(paths.dataDir);
    writeFileSync(paths.runtimeConf, '');
    const confPath = join(root, 'redis.conf');
    writeFileSync(confPath, conf);
    const outcome = await runUntilPing(redisServer, confPath, root, paths.socket, timeoutMs);
    // Show the rendered paths, not the temp ones, in Redis's messages.
    const error = outcome.error
      ?.split(paths.dataDir).join(DEFAULT_REDIS_CONFIG.dir)
      .split(paths.runtimeConf).join(RUNTIME_CONFIG_FILE);
    return outcome.ok ? { ok: true } : { ok: false, error };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function runUntilPing(
  redisServer: string, confPath: string, cwd: string, socket: string, timeoutMs: number,
): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(redisServer, [confPath], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
    let settled = false;
    let exited = false;
    const finish = (result: { ok: boolean; error?: string } | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (exited) return result instanceof Error ? reject(result) : resolve(result);
      // Stop it; SIGKILL if it does not go within 5 s. Resolve once it is gone.
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('close', () => {
        clearTimeout(kill);
        if (result instanceof Error) reject(result);
        else resolve(result);
      });
      child.kill('SIGTERM');
    };
    const timer = setTimeout(() => finish({
      ok: false,
      error: `redis-server did not answer PING within ${timeoutMs} ms${output.trim() ? `:\n${lastLines(output)}` : ''}`,
    }), timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      exited = true;
      finish(new RedisServerNotFoundError(redisServer, error));
    });
    child.once('close', (code, signal) => {
      exited = true;
      finish({ ok: false, error: redisError(output) ?? `redis-server exited (${signal ?? `code ${code}`}) before answering PING` });
    });
    const poll = () => {
      if (settled) return;
      ping(socket).then((pong) => {
        if (pong) finish({ ok: true });
        else setTimeout(poll, 10);
      }, () => setTimeout(poll, 10));
    };
    poll();
  });
}

/** One PING over the unix socket: true on +PONG, false on anything else (not there yet, LOADING). */
function ping(socket: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const conn = createConnection({ path: socket });
    let reply = '';
    conn.setTimeout(1_000, () => conn.destroy(new Error('timeout')));
    conn.on('connect', () => conn.write('PING\r\n'));
    conn.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) {
        conn.end();
        resolve(reply.startsWith('+PONG'));
      }
    });
    conn.on('error', reject);
    conn.on('close', () => resolve(false));
  });
}

/** Redis's own message: the FATAL CONFIG FILE ERROR block, or the last lines it logged. */
export function redisError(output: string): string | undefined {
  const fatal = output.indexOf('*** FATAL CONFIG FILE ERROR');
  if (fatal >= 0) return output.slice(fatal).trim();
  return output.trim() ? lastLines(output) : undefined;
}

function lastLines(output: string, count = 5): string {
  return output.trim().split('\n').slice(-count).join('\n');
}
