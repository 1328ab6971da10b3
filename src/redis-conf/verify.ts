import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { asciiLower, splitConfArgs } from './args';
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
 * replaced one for one and the check's own directives live in the runtime include.
 *
 * The check runs redis-server on the CI machine, so it must not do there what the pod
 * does: it never loads a module and writes nothing outside its temporary folder. What
 * is changed for the check, and nothing else (see `verifyConfLines`):
 * - in place, one line for one: `port 6379` → `port 0` (no TCP listener); `dir /data` → an
 *   empty temp dir (Redis `chdir`s there while reading the file, so `dbfilename`,
 *   `appendfilename` and `appenddirname`, which Redis refuses as paths, stay in it);
 *   `include /run/redis/runtime.conf` → a temp file (in the pod the init container writes
 *   it at start: `replicaof`, passwords); every `loadmodule` line → a comment;
 * - in the runtime include (the last line, read after every user line): `dir` again,
 *   `unixsocket` and `pidfile` in the temp dir, then, for each directive of CHECK_OVERRIDES the file sets,
 *   its neutral value. Redis acts on these only after it has read the files, so it still
 *   validates the user's value, and the last value wins.
 * - with TLS (`tls-port 6379`), in place: `tls-port 0` and `tls-replication no`, and
 *   `port <n>` → `port 0` whatever n (0, or the plain port of a migration): the check has
 *   no certificates, and Redis loads the TLS files only when a TLS port, TLS replication
 *   or TLS cluster bus is on. The other TLS directives are still read and checked.
 * - refused before any server starts: an `include` of any other file.
 *
 * Use the same Redis major version as the image (CI: Debian's `redis-server` package, or
 * `--redis-server PATH`); directives that only exist in a newer Redis are reported as
 * errors by an older one.
 */

/**
 * Directives that would act outside the check's temp folder, from Redis's config.c, and
 * the line the check's runtime include gets when a config sets them.
 */
export const CHECK_OVERRIDES: Readonly<Record<string, string>> = Object.freeze({
  logfile: 'logfile ""', // creates the file; "" logs to stdout, which the check reads
  'syslog-enabled': 'syslog-enabled no', // writes to /dev/log
  aclfile: 'aclfile ""', // read at start, written by ACL SAVE
  'cluster-enabled': 'cluster-enabled no', // cluster mode writes cluster-config-file (nodes.conf)
  'tls-port': 'tls-port 0', // a TCP listener
  daemonize: 'daemonize no', // the server would outlive the check
  supervised: 'supervised no', // notifies systemd or upstart
  replicaof: 'replicaof no one', // connects out
  slaveof: 'replicaof no one',
  'oom-score-adj': 'oom-score-adj no', // writes /proc/self/oom_score_adj
});

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
  /** The line of the rendered redis.conf that Redis refused, when it names one. */
  readonly line?: number;
  /** The directive on that line (lower-cased), so a caller can point at `spec.config[directive]`. */
  readonly directive?: string;
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

/** A config the check does not run: it would read files the pod has and this machine must not. */
export class UncheckableConfigError extends Error {}

/** The directive of a redis.conf line as Redis reads it (lower-cased), or undefined for comments, blanks and lines Redis refuses. */
export function confDirective(line: string): string | undefined {
  const trimmed = line.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const split = splitConfArgs(trimmed);
  return split.ok && split.args.length > 0 ? asciiLower(split.args[0].toString('latin1')) : undefined;
}

/** The rendered redis.conf as the check runs it, and what its runtime include holds (see the module comment). */
export function verifyConfLines(redisConf: string, paths: VerifyPaths): { redisConf: string; runtimeConf: string } {
  // Redis reads the file with fgets + strlen: text after a NUL byte is dropped up to the
  // end of its line, joining two lines into one this parser would read as two.
  const nul = redisConf.indexOf('\0');
  if (nul >= 0) throw new UncheckableConfigError(`line ${redisConf.slice(0, nul).split('\n').length} holds a NUL byte, which Redis would read differently`);
  const runtimeInclude = `include ${RUNTIME_CONFIG_FILE}`;
  const given = redisConf.split('\n');
  const tls = given.includes(`tls-port ${REDIS_PORT}`);
  const plainPort = tls ? given.find((l) => /^port \d+$/.test(l)) : undefined;
  const remapped = rewriteConfLines(redisConf, [
    [`dir ${DEFAULT_REDIS_CONFIG.dir}`, `dir ${quoteConfArg(paths.dataDir)}`],
    ...(tls
      ? [[plainPort ?? 'port', 'port 0'], [`tls-port ${REDIS_PORT}`, 'tls-port 0'], ['tls-replication yes', 'tls-replication no']] as const
      : [[`port ${REDIS_PORT}`, 'port 0']] as const),
    [runtimeInclude, `include ${quoteConfArg(paths.runtimeConf)}`],
  ]);
  const original = redisConf.split('\n');
  const overrides = new Set<string>();
  const lines = remapped.split('\n').map((line, i) => {
    const directive = confDirective(line);
    if (directive === 'loadmodule') return '# loadmodule: never loaded by the check';
    if (directive === 'include' && original[i] !== runtimeInclude) {
      throw new UncheckableConfigError(`line ${i + 1} includes another file (${line.slice(0, 80)}); the check reads no file but the runtime include`);
    }
    if (directive !== undefined && CHECK_OVERRIDES[directive]) overrides.add(CHECK_OVERRIDES[directive]);
    return line;
  });
  // The overrides go in the runtime include, the last line: Redis runs its end-of-file
  // checks (it opens logfile) after an included file too, so they must be in force by then.
  return {
    redisConf: lines.join('\n'),
    runtimeConf: [
      // dir again: were there a second `dir` line, the data files would follow it.
      `dir ${quoteConfArg(paths.dataDir)}`,
      `unixsocket ${quoteConfArg(paths.socket)}`, 'unixsocketperm 700', `pidfile ${quoteConfArg(paths.pidFile)}`, ...overrides, '',
    ].join('\n'),
  };
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
  const outcomes = new Map<string, Outcome>();
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

type Outcome = Omit<RedisConfigVerification, 'instance'>;

async function verifyOne(redisConf: string, redisServer: string, timeoutMs: number): Promise<Outcome> {
  const root = mkdtempSync(join(tmpdir(), 'redis-gitops-verify-'));
  const paths: VerifyPaths = {
    dataDir: join(root, 'data'),
    runtimeConf: join(root, 'runtime.conf'),
    socket: join(root, 'redis.sock'),
    pidFile: join(root, 'redis.pid'),
  };
  try {
    let conf: ReturnType<typeof verifyConfLines>;
    try {
      conf = verifyConfLines(redisConf, paths);
    } catch (error) {
      if (error instanceof UncheckableConfigError) return { ok: false, error: `not checked: ${error.message}` };
      return { ok: false, error: `not a redis.conf rendered by redis-gitops: ${(error as Error).message}` };
    }
    mkdirSync(paths.dataDir);
    writeFileSync(paths.runtimeConf, conf.runtimeConf);
    const confPath = join(root, 'redis.conf');
    writeFileSync(confPath, conf.redisConf);
    const outcome = await runUntilPing(redisServer, confPath, root, paths.socket, timeoutMs);
    // Show the rendered paths, not the temp ones, in Redis's messages.
    const error = outcome.error
      ?.split(paths.dataDir).join(DEFAULT_REDIS_CONFIG.dir)
      .split(paths.runtimeConf).join(RUNTIME_CONFIG_FILE);
    if (outcome.ok) return { ok: true };
    // Redis names the line and quotes it; the remapping kept line numbers. A quoted line
    // that is not the rendered one is in the runtime include (the check's own lines).
    const at = /Reading the configuration file, at line (\d+)\n>>> '(.*)'/.exec(error ?? '');
    const line = at && conf.redisConf.split('\n')[Number(at[1]) - 1]?.trim() === at[2] ? Number(at[1]) : undefined;
    const directive = line === undefined ? undefined : confDirective(redisConf.split('\n')[line - 1] ?? '');
    return { ok: false, error, ...(line ? { line } : {}), ...(directive ? { directive } : {}) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function runUntilPing(
  redisServer: string, confPath: string, cwd: string, socket: string, timeoutMs: number,
): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    // No NOTIFY_SOCKET: a config cannot make the check's server talk to this machine's systemd.
    const child = spawn(redisServer, [confPath], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NOTIFY_SOCKET: undefined } });
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
