import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ConfigMap, V1Container, V1Volume } from '@kubernetes/client-node';
import { CONFIG_FILE, RUNTIME_CONFIG_FILE } from '../../../src/redis-conf/render';
import { AGENT_CONTAINER_NAME } from '../../../src/render/config-agent';
import { ROLE_AGENT_CONTAINER_NAME } from '../../../src/render/role-agent';
import { SENTINEL_CONTAINER_NAME, START_UP_CONTAINER_NAME } from '../../../src/render/sentinel';
import { findExecutable, redisBinaries, type RedisBinaries } from './binaries';
import { requireProgram } from '../programs';
import {
  configMapFiles, containerPort, dataVolumeName, hostPath, mountTable, podName, podSpec, primaryDnsName, redisContainer,
  TLS_FILE_DIRECTIVES, remapCommandPaths, remapDataDirEnv, remapExporterEnv, remapImageCommand, remapPathEnv, remapPrimaryEnv, remapProbeCommand,
  remapRedisConf, resolveEnv, secretFiles,
  type RenderedPodSource, type Secrets,
} from './seam';

/** PATH inside our "containers": the harness's bin folder first, then the usual system folders. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface StartPodOptions {
  /** Secrets the pod's `secretKeyRef`s read, by name then key. */
  readonly secrets?: Secrets;
  /** Reuse this data folder (the pod's PersistentVolume), e.g. to restart a pod. @default - a new empty folder */
  readonly dataDir?: string;
  /** Port of pod 0 on this machine; required for ordinals > 0. @default - this pod's own port */
  readonly primaryPort?: number;
  /**
   * Record the argument list (read from /proc) of every external program the init
   * script and the probes run, and of the shell that ran it; see `RedisPod.execLog`.
   * @default false
   */
  readonly recordExecs?: boolean;
  /** How long the server may take to answer PING. @default 10000 */
  readonly readyTimeoutMs?: number;
  /**
   * The image's shell. 'sh': this machine's /bin/sh (dash on Debian, as in redis:7.x) and
   * its programs. 'busybox': busybox ash for every `sh` command (init scripts, probes,
   * hooks), and busybox's applets for the programs the scripts name (sed, mv, grep, sleep,
   * ...), as in redis:7.x-alpine.
   * @default 'sh'
   */
  readonly shell?: 'sh' | 'busybox';
}

export interface ContainerRun {
  readonly container: string;
  /** The argument list the process was started with. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProbeResult {
  /** null when the probe timed out (the kubelet counts that as a failure). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface StopResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A container of the pod other than redis (the config agent), running on this machine. */
export interface SidecarRun {
  readonly name: string;
  readonly pid: number;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly alive: boolean;
  /** Everything it wrote to stdout and stderr. */
  logs(): string;
}

/** One pod of a rendered StatefulSet, running on this machine. */
export interface RedisPod {
  /** `<statefulset>-<ordinal>`. */
  readonly name: string;
  readonly ordinal: number;
  /** The port the server listens on, on 127.0.0.1 (the TLS port with TLS). */
  readonly port: number;
  /** With TLS and a plain port besides (a migration): that port. */
  readonly plainPort?: number;
  /** With TLS: the pod's certificate files (PEM) as mounted from the Secret, for clients. */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
  /** Process id of redis-server. */
  readonly pid: number;
  /** The data folder (the pod's PersistentVolume): pass it to startRedisPod again to restart. */
  readonly dataDir: string;
  /** The pod's temp folder: volumes, bin folder, logs. */
  readonly root: string;
  /** redis.conf as written into the ConfigMap volume (remapped). */
  readonly configPath: string;
  /** The runtime include the init container wrote. */
  readonly runtimeConf: string;
  /** The init containers, as they ran. */
  readonly init: readonly ContainerRun[];
  /** The redis container's command line, as started. */
  readonly argv: readonly string[];
  /** The redis container's environment (without PATH/HOME/HOSTNAME). */
  readonly env: Readonly<Record<string, string>>;
  /** True until redis-server has exited. */
  readonly alive: boolean;
  /** The pod's other containers (started after redis serves), by name. */
  readonly sidecars: Readonly<Record<string, SidecarRun>>;
  /** Host folder of a volume, e.g. the runtime emptyDir the agent writes its status to. */
  volumeDir(volume: string): string;
  /** What the kubelet does when the ConfigMap changes: project its new data atomically (a new `..data`). */
  updateConfigMap(configMap: V1ConfigMap): void;
  /** What the kubelet does when a Secret changes: project the Secret volumes' new files atomically. */
  updateSecrets(secrets: Secrets): void;
  /** Everything redis-server wrote to stdout and stderr. */
  logs(): string;
  /** With `recordExecs`: each recorded program's argv and its parent's, NULs shown as spaces. */
  execLog(): string;
  /**
   * Send `signal` and wait until the process is gone (SIGKILL after 10 s). With SIGTERM, as
   * the kubelet does, the container's exec preStop hook runs first, if it has one.
   */
  stop(signal?: NodeJS.Signals): Promise<StopResult>;
  /** Run the rendered readiness or liveness command against this pod, as the kubelet would. */
  runProbe(kind: 'readiness' | 'liveness', options?: { readonly env?: Readonly<Record<string, string>> }): Promise<ProbeResult>;
  /**
   * Start a sidecar container of the pod (e.g. the exporter `metrics`) with its rendered
   * command and env, through the seam (remapImageCommand, remapExporterEnv), and wait
   * until its HTTP port answers. `secrets` overrides the pod's for this container.
   */
  startSidecar(container: string, options?: { readonly secrets?: Secrets }): Promise<Sidecar>;
}

/** A sidecar container running on this machine. */
export interface Sidecar {
  readonly name: string;
  readonly pid: number;
  /** The port its HTTP listener uses here, on 127.0.0.1. */
  readonly port: number;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  logs(): string;
  /** GET `path` on the sidecar: status and body. */
  get(path: string): Promise<{ readonly status: number; readonly body: string }>;
  stop(): Promise<StopResult>;
}

/** The init container failed: the kubelet would not start the redis container. */
export class InitContainerError extends Error {
  constructor(readonly run: ContainerRun) {
    super(`init container "${run.container}" exited with ${run.exitCode}: ${run.stderr.trim() || run.stdout.trim()}`);
    this.name = 'InitContainerError';
  }
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const cleanups = new Set<() => Promise<void>>();

// Last resort if a test run dies without its afterEach: no server outlives the test process.
process.on('exit', () => {
  for (const child of live) killGroup(child);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Run `fn` in cleanupRedisPods (e.g. closing clients before their servers stop). */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.add(fn);
}

/** Stop every server the harness started and remove every folder it made. Call in afterEach. */
export async function cleanupRedisPods(): Promise<void> {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    await fn().catch(() => undefined);
  }
  await Promise.all([...live].map((child) => killAndWait(child, 'SIGKILL', 5_000)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** A temp folder removed by cleanupRedisPods. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

let projections = 0;

/**
 * Write a ConfigMap or Secret volume as the kubelet's AtomicWriter does: the files in a
 * new `..<timestamp>` folder, the `..data` link swapped to it by one rename, one
 * `<name> -> ..data/<name>` link per file, the previous folder removed.
 */
export function projectVolume(dir: string, files: Readonly<Record<string, string>>): void {
  const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${++projections}`;
  mkdirSync(join(dir, stamp));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, stamp, name), content, { mode: 0o644 });
  const data = join(dir, '..data');
  const previous = existsSync(data) ? readlinkSync(data) : undefined;
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), data);
  for (const name of Object.keys(files)) if (!existsSync(join(dir, name))) symlinkSync(join('..data', name), join(dir, name));
  if (previous) rmSync(join(dir, previous), { recursive: true, force: true });
}

/** A port that was free on 127.0.0.1 a moment ago (startRedisPod retries if it was taken meanwhile). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess): Promise<StopResult> {
  if (exited(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * SIGKILL a process and everything it forked (Redis's RDB/AOF children, a probe's
 * redis-cli): each child the harness starts leads its own process group, as a container's
 * processes share one fate.
 */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}

async function killAndWait(child: ChildProcess, signal: NodeJS.Signals, killAfterMs: number): Promise<StopResult> {
  if (signal === 'SIGKILL') killGroup(child);
  else if (!exited(child)) child.kill(signal);
  const timer = setTimeout(() => killGroup(child), killAfterMs);
  try {
    return await waitForExit(child);
  } finally {
    clearTimeout(timer);
    live.delete(child);
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The pod's bin folder: `redis-server` and `redis-cli` (the binaries under test, so
 * $REDIS_SERVER / $REDIS_CLI apply while the rendered commands stay as they are). With
 * shell 'busybox', also `sh` and every busybox applet the scripts name, linked to busybox.
 * With `recordLog`, every program the scripts may run is a small shell wrapper that appends
 * its own /proc/<pid>/cmdline and its parent's to the log, then execs the real program.
 */
function makeBinDir(
  root: string, bins: RedisBinaries, scripts: readonly string[], shell: 'sh' | 'busybox', recordLog?: string,
): string {
  const bin = join(root, 'bin');
  mkdirSync(bin);
  symlinkSync(bins.server, join(bin, 'redis-server'));
  const words = new Set(scripts.join('\n').match(/[A-Za-z_][A-Za-z0-9_.-]*/g) ?? []);
  /** Each program the scripts may run: the argv that runs it (a busybox applet is `busybox <applet>`). */
  const programs = new Map<string, string[]>([['redis-cli', [bins.cli]]]);
  if (shell === 'busybox') {
    const busybox = requireProgram('busybox', SYSTEM_PATH);
    const applets = new Set(execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n'));
    symlinkSync(busybox, join(bin, 'sh'));
    for (const word of words) {
      if (word !== 'sh' && applets.has(word)) programs.set(word, [busybox, word]);
    }
  }
  if (!recordLog) {
    for (const [name, [target]] of programs) symlinkSync(target, join(bin, name));
    return bin;
  }
  const cat = findExecutable('cat', SYSTEM_PATH);
  if (!cat) throw new Error('cat not found');
  for (const word of words) {
    if (word === 'sh' || word === 'redis-server' || programs.has(word)) continue;
    const found = findExecutable(word, SYSTEM_PATH);
    if (found) programs.set(word, [found]);
  }
  for (const [name, argv] of programs) {
    const wrapper = join(bin, name);
    writeFileSync(wrapper, [
      '#!/bin/sh',
      `{ ${cat} /proc/$$/cmdline; echo; ${cat} /proc/$PPID/cmdline; echo; } >> ${shellQuote(recordLog)}`,
      `exec ${argv.map(shellQuote).join(' ')} "$@"`,
      '',
    ].join('\n'));
    chmodSync(wrapper, 0o755);
  }
  return bin;
}

/** Run a process to completion, collecting its output. */
function runToCompletion(argv: readonly string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    const timer = setTimeout(() => { timedOut = true; killGroup(child); }, timeoutMs);
    child.once('error', (e) => { clearTimeout(timer); live.delete(child); reject(e); });
    child.once('close', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ exitCode: timedOut ? null : code, stdout, stderr });
    });
  });
}

/** GET http://127.0.0.1:<port><path>: status and body (rejects when nothing answers). */
function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** One inline PING on a fresh connection: the first reply line, or undefined if it cannot connect. */
function pingOnce(port: number, tls?: { ca: string; cert: string; key: string }): Promise<string | undefined> {
  return new Promise((resolve) => {
    // With TLS: the chain is checked, not the host name (as redis-cli does).
    const conn = tls
      ? tlsConnect({ host: '127.0.0.1', port, ...tls, checkServerIdentity: () => undefined })
      : createConnection({ host: '127.0.0.1', port });
    let reply = '';
    conn.setTimeout(1_000, () => conn.destroy());
    conn.on(tls ? 'secureConnect' : 'connect', () => conn.write('PING\r\n'));
    conn.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        conn.end();
        resolve(reply.slice(0, end));
      }
    });
    conn.on('error', () => resolve(undefined));
    conn.on('close', () => resolve(undefined));
  });
}

/** Until the server answers PING (PONG, or NOAUTH with a password) or exits. */
async function waitUntilServing(
  child: ChildProcess, port: number, timeoutMs: number, logs: () => string, tls?: { ca: string; cert: string; key: string },
): Promise<'serving' | 'exited'> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited(child)) return 'exited';
    const reply = await pingOnce(port, tls);
    if (reply === '+PONG' || reply?.startsWith('-NOAUTH')) return 'serving';
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms; its output:\n${logs()}`);
}

/**
 * Start pod `ordinal` of a rendered StatefulSet the way the kubelet would: make its
 * volumes (the ConfigMap's files, the emptyDirs, the data claim), run each init container's
 * command with its env, then the redis container's command, and wait until it serves.
 * Only the seam (see index.ts) differs from the pod.
 */
export async function startRedisPod(source: RenderedPodSource, ordinal: number, options: StartPodOptions = {}): Promise<RedisPod> {
  const bins = redisBinaries();
  const { statefulSet: sts, configMap } = withoutFailover(source);
  const spec = podSpec(sts);
  const name = podName(sts, ordinal);
  const namespace = sts.metadata?.namespace ?? 'default';
  const secrets = options.secrets ?? {};
  const cport = containerPort(sts);
  if (ordinal > 0 && options.primaryPort === undefined) throw new Error(`pod ${name} replicates from pod 0: pass primaryPort`);

  const root = makeTempDir(`redis-pod-${name}-`);
  const volumeDirs: Record<string, string> = {};
  let configVolume: string | undefined;
  // The role agent (failover instances) is not run here: the volumes only it mounts (its
  // service account token, the password file) are left out.
  const agentOnly = new Set((spec.volumes ?? []).map((v) => v.name).filter((v) => [...(spec.initContainers ?? []), ...spec.containers]
    .every((c) => c.name === ROLE_AGENT_CONTAINER_NAME || !(c.volumeMounts ?? []).some((m) => m.name === v))));
  const secretVolumes: V1Volume[] = [];
  for (const volume of (spec.volumes ?? []).filter((v) => !agentOnly.has(v.name))) {
    const dir = join(root, 'volumes', volume.name);
    mkdirSync(dir, { recursive: true });
    if (volume.configMap) {
      if (volume.configMap.name !== configMap.metadata?.name) {
        throw new Error(`volume ${volume.name} mounts ConfigMap "${volume.configMap.name}", not the rendered "${configMap.metadata?.name}"`);
      }
      configVolume = volume.name;
    } else if (volume.secret) {
      secretVolumes.push(volume);
      projectVolume(dir, secretFiles(volume, secrets));
    } else if (!volume.emptyDir) {
      throw new Error(`volume ${volume.name}: only configMap, secret and emptyDir volumes are supported by the test harness`);
    }
    volumeDirs[volume.name] = dir;
  }
  if (!configVolume) throw new Error(`the pod does not mount ConfigMap ${configMap.metadata?.name}`);
  const dataVolume = dataVolumeName(sts);
  const dataDir = options.dataDir ?? join(root, 'volumes', dataVolume);
  mkdirSync(dataDir, { recursive: true });
  volumeDirs[dataVolume] = dataDir;

  const redis = redisContainer(sts);
  const redisMounts = mountTable(redis.volumeMounts, volumeDirs);
  const dataMount = redisMounts.find((m) => m.volume === dataVolume);
  if (!dataMount) throw new Error(`the redis container does not mount the data volume ${dataVolume}`);

  const execLogPath = join(root, 'exec.log');
  const commandOf = (c: V1Container) => [...(c.command ?? []), ...(c.args ?? [])];
  // Started with the pod: the config agent. Other sidecars (the exporter) on demand: startSidecar.
  const sidecars = spec.containers.filter((c) => c.name === AGENT_CONTAINER_NAME);
  const scripts = [
    ...(spec.initContainers ?? []).flatMap(commandOf),
    ...sidecars.flatMap(commandOf),
    // Scripts the containers run from the ConfigMap volume (`sh /usr/local/etc/redis/<file>`).
    ...Object.values(configMap.data ?? {}),
    ...(redis.readinessProbe?.exec?.command ?? []),
    ...(redis.lifecycle?.postStart?.exec?.command ?? []),
    ...(redis.lifecycle?.preStop?.exec?.command ?? []),
    ...(redis.livenessProbe?.exec?.command ?? []),
  ];
  const bin = makeBinDir(root, bins, scripts, options.shell ?? 'sh', options.recordExecs ? execLogPath : undefined);
  const baseEnv = { PATH: `${bin}:${SYSTEM_PATH}`, HOME: root, HOSTNAME: name };

  let port = await freePort();
  const primaryPort = () => options.primaryPort ?? port;

  // Init containers, in order; each must succeed, as the kubelet requires.
  const init: ContainerRun[] = [];
  for (const container of spec.initContainers ?? []) {
    const mounts = mountTable(container.volumeMounts, volumeDirs);
    const env = {
      ...remapPathEnv(remapDataDirEnv(remapPrimaryEnv(resolveEnv(container.env, { name, namespace, secrets }), {
        dnsName: primaryDnsName(sts), containerPort: cport, primaryPort: primaryPort(),
      }), mounts, dataVolume), mounts),
      // The seam: where the runtime volume is on this machine (the script honours RUNTIME_CONF).
      RUNTIME_CONF: hostPath(mounts, RUNTIME_CONFIG_FILE),
    };
    const argv = commandOf(container);
    const cwd = container.workingDir ? hostPath(mounts, container.workingDir) : root;
    const result = await runToCompletion(argv, { ...baseEnv, ...env }, cwd, 30_000);
    const run: ContainerRun = { container: container.name, argv, env, ...result };
    init.push(run);
    if (result.exitCode !== 0) throw new InitContainerError(run);
  }

  const runtimeConf = hostPath(redisMounts, RUNTIME_CONFIG_FILE);
  const redisEnv = remapPathEnv(resolveEnv(redis.env, { name, namespace, secrets }), redisMounts);
  const argv = remapCommandPaths(commandOf(redis), redisMounts);
  const configPath = argv.find((a) => a.startsWith(volumeDirs[configVolume!])) ?? '';
  // With TLS: the files redis.conf names, from the mounted Secret, so the harness can talk TLS too.
  const confLines = (configMap.data?.[CONFIG_FILE] ?? '').split('\n');
  const tlsFile = (directive: string) => {
    const line = confLines.find((l) => l.startsWith(`${directive} `));
    return line ? readFileSync(hostPath(redisMounts, line.slice(directive.length + 1)), 'utf8') : undefined;
  };
  const tls = confLines.includes(`tls-port ${cport}`)
    ? { ca: tlsFile(TLS_FILE_DIRECTIVES[2])!, cert: tlsFile(TLS_FILE_DIRECTIVES[0])!, key: tlsFile(TLS_FILE_DIRECTIVES[1])! }
    : undefined;
  const plainPort = tls && confLines.some((l) => /^port [1-9]\d*$/.test(l)) ? await freePort() : undefined;

  const projectConfigMap = (cm: V1ConfigMap, at: number) => projectVolume(volumeDirs[configVolume!], configMapFiles(cm, (conf) => remapRedisConf(conf, {
    dataMountPath: dataMount.mountPath, dataDir, containerPort: cport, port: at, runtimeConf,
    ...(plainPort ? { plainPort } : {}), hostPath: (path) => hostPath(redisMounts, path),
  })));
  for (let attempt = 1; ; attempt++) {
    projectConfigMap(configMap, port);

    const child = spawn(argv[0], argv.slice(1), {
      // The official images' WORKDIR is /data.
      env: { ...baseEnv, ...redisEnv }, cwd: redis.workingDir ? hostPath(redisMounts, redis.workingDir) : dataDir,
      stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    live.add(child);
    let output = '';
    child.stdout!.on('data', (c: Buffer) => { output += c.toString('utf8'); });
    child.stderr!.on('data', (c: Buffer) => { output += c.toString('utf8'); });
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const state = await Promise.race([
      waitUntilServing(child, port, options.readyTimeoutMs ?? 10_000, () => output, tls),
      spawnError.then((e) => { throw e; }),
    ]);
    if (state === 'exited') {
      await waitForExit(child);
      live.delete(child);
      if (/Address already in use/.test(output) && attempt < 3) {
        port = await freePort();
        continue;
      }
      throw new Error(`redis-server (pod ${name}) exited with ${child.exitCode ?? child.signalCode} before serving; its output:\n${output}`);
    }

    const finalPort = port;
    /** An exec command of the redis container (probe or hook), run as the kubelet would. */
    const runExec = (command: readonly string[], timeoutSeconds: number, env: Readonly<Record<string, string>> = {}) =>
      runToCompletion(remapProbeCommand(command, cport, finalPort, (path) => hostPath(redisMounts, path)), { ...baseEnv, ...redisEnv, ...env }, root, timeoutSeconds * 1000);
    const grace = spec.terminationGracePeriodSeconds ?? 30;

    // postStart: the kubelet kills the container when it fails.
    const postStart = redis.lifecycle?.postStart;
    if (postStart && !postStart.exec?.command) throw new Error('only exec postStart hooks are supported by the test harness');
    if (postStart?.exec?.command) {
      const result = await runExec(postStart.exec.command, grace);
      if (result.exitCode !== 0) {
        await killAndWait(child, 'SIGKILL', 5_000);
        throw new Error(`postStart hook of pod ${name} failed (${result.exitCode}): ${result.stderr || result.stdout}`);
      }
    }
    const preStop = redis.lifecycle?.preStop;
    if (preStop && !preStop.exec?.command) throw new Error('only exec preStop hooks are supported by the test harness');

    // The other containers (the config agent): their command with their env, REDIS_PORT and
    // the paths on their mounts remapped like the init container's.
    const running: Record<string, SidecarRun> = {};
    const sidecarProcesses: ChildProcess[] = [];
    for (const container of sidecars) {
      const mounts = mountTable(container.volumeMounts, volumeDirs);
      const env = remapPathEnv(resolveEnv(container.env, { name, namespace, secrets }), mounts, { containerPort: cport, port: finalPort });
      const sidecarArgv = remapCommandPaths(commandOf(container), mounts);
      const proc = spawn(sidecarArgv[0], sidecarArgv.slice(1), {
        env: { ...baseEnv, ...env }, cwd: container.workingDir ? hostPath(mounts, container.workingDir) : root,
        stdio: ['ignore', 'pipe', 'pipe'], detached: true,
      });
      live.add(proc);
      sidecarProcesses.push(proc);
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
      proc.stderr!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
      running[container.name] = { name: container.name, pid: proc.pid!, argv: sidecarArgv, env, get alive() { return !exited(proc); }, logs: () => out };
    }

    return {
      name, ordinal, port: finalPort, ...(plainPort ? { plainPort } : {}), ...(tls ? { tls } : {}), pid: child.pid!, dataDir, root, configPath, runtimeConf, init, argv, env: redisEnv,
      get alive() { return !exited(child); },
      sidecars: running,
      volumeDir: (volume: string) => {
        if (!volumeDirs[volume]) throw new Error(`the pod has no volume ${volume}`);
        return volumeDirs[volume];
      },
      updateConfigMap: (cm: V1ConfigMap) => projectConfigMap(cm, finalPort),
      updateSecrets: (next: Secrets) => {
        for (const volume of secretVolumes) projectVolume(volumeDirs[volume.name], secretFiles(volume, next));
      },
      logs: () => output,
      execLog: () => (existsSync(execLogPath) ? readFileSync(execLogPath, 'utf8').replace(/\0/g, ' ') : ''),
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        // The kubelet runs preStop, then sends SIGTERM (SIGKILL after the grace period; 10 s here).
        if (signal === 'SIGTERM' && preStop?.exec?.command && !exited(child)) await runExec(preStop.exec.command, grace);
        await Promise.all(sidecarProcesses.map((p) => killAndWait(p, signal, 10_000)));
        return killAndWait(child, signal, 10_000);
      },
      startSidecar: async (containerName, sidecarOptions = {}) => {
        const container = spec.containers.find((c) => c.name === containerName);
        if (!container || container.name === redis.name) throw new Error(`the pod has no sidecar container "${containerName}"`);
        const mounts = mountTable(container.volumeMounts, volumeDirs);
        const httpPort = container.ports?.[0]?.containerPort;
        if (!httpPort) throw new Error(`sidecar ${containerName} has no port`);
        const hostPort = await freePort();
        const env = remapExporterEnv(resolveEnv(container.env, { name, namespace, secrets: sidecarOptions.secrets ?? secrets }), {
          containerPort: cport, port: finalPort, metricsContainerPort: httpPort, metricsPort: hostPort, mounts,
        });
        const sidecarArgv = [...remapImageCommand(container.command, (program, envVar) => requireProgram(process.env[envVar] || program)), ...(container.args ?? [])];
        const proc = spawn(sidecarArgv[0], sidecarArgv.slice(1), { env: { ...baseEnv, ...env }, cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        live.add(proc);
        let out = '';
        proc.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
        proc.stderr!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
        const get = (path: string) => httpGet(hostPort, path);
        const deadline = Date.now() + 10_000;
        for (;;) {
          if (exited(proc)) throw new Error(`sidecar ${containerName} of pod ${name} exited with ${proc.exitCode ?? proc.signalCode}:\n${out}`);
          if (await get('/health').then(() => true, () => false)) break;
          if (Date.now() > deadline) throw new Error(`sidecar ${containerName} of pod ${name} did not answer HTTP within 10 s:\n${out}`);
          await new Promise((r) => setTimeout(r, 25));
        }
        return {
          name: containerName, pid: proc.pid!, port: hostPort, argv: sidecarArgv, env,
          logs: () => out, get, stop: () => killAndWait(proc, 'SIGTERM', 5_000),
        };
      },
      runProbe: async (kind, probeOptions = {}) => {
        const probe = kind === 'readiness' ? redis.readinessProbe : redis.livenessProbe;
        if (!probe?.exec?.command) throw new Error(`the redis container has no exec ${kind} probe`);
        return runExec(probe.exec.command, probe.timeoutSeconds ?? 1, probeOptions.env);
      },
    };
  }
}

/**
 * The seam for failover instances: this single-host harness runs their pods as pod-0-primary
 * pods (what the `config` init container sets up), without the failover parts: the start-up
 * init container, Sentinel, the role agent and the redis container's preStop failover.
 * test/support/netns runs those, each pod on a host of its own.
 */
function withoutFailover(source: RenderedPodSource): RenderedPodSource {
  const pod = source.statefulSet.spec?.template.spec;
  if (!pod?.containers.some((c) => c.name === SENTINEL_CONTAINER_NAME)) return source;
  const statefulSet = structuredClone(source.statefulSet);
  const spec = statefulSet.spec!.template.spec!;
  spec.initContainers = (spec.initContainers ?? []).filter((c) => c.name !== START_UP_CONTAINER_NAME);
  spec.containers = spec.containers
    .filter((c) => c.name !== SENTINEL_CONTAINER_NAME && c.name !== ROLE_AGENT_CONTAINER_NAME)
    .map((c) => (c.lifecycle?.preStop ? { ...c, lifecycle: { ...c.lifecycle, preStop: undefined } } : c));
  return { ...source, statefulSet };
}
