import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import { RUNTIME_CONFIG_FILE } from '../../../src/redis-conf/render';
import { ROLE_AGENT_CONTAINER_NAME } from '../../../src/render/role-agent';
import { requireProgram } from '../programs';
import { redisBinaries } from '../redis/binaries';
import {
  PATH_ENV_VARS, configMapFiles, dataVolumeName, hostPath, mountTable, podName, podSpec, redisContainer, remapCommandPaths, resolveEnv,
  secretFiles, type Mount, type RenderedPodSource, type Secrets,
} from '../redis/seam';
import { projectVolume } from '../redis/pod';
import { podTls, remapPathEnv, remapPodConf, remapTlsFlagsEnv, type PodTls } from './seam';
import { PodNetwork, type PodAddress } from './network';

/** The checkout: the role-agent container runs its CLI (src/cli/bin.ts) through tsx. */
const ROOT = join(__dirname, '..', '..', '..');
/** PATH inside our "containers": the pod's bin folder first, then the usual system folders. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Env vars holding container paths that the seam maps to the host (each must lie on a mount). */
const PATH_ENV = ['RUNTIME_CONF', 'DATA_DIR', 'SENTINEL_DIR', ...PATH_ENV_VARS];
/** The programs besides redis-* that the pod scripts run (busybox applets in the Alpine images). */
const BUSYBOX_APPLETS = ['awk', 'cat', 'date', 'grep', 'head', 'kill', 'mv', 'rm', 'sed', 'sleep', 'sort', 'timeout', 'uniq'];

export interface ContainerProcess {
  readonly container: string;
  readonly child: ChildProcess;
  readonly logFile: string;
}

const processes = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of processes) killGroup(child, 'SIGKILL');
});

/** SIGKILL every process in network namespace `ns` (init leftovers included). */
export function killNamespace(ns: string): void {
  let pids: string[] = [];
  try {
    pids = execFileSync(requireProgram('ip', SYSTEM_PATH), ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').filter(Boolean);
  } catch { return; }
  for (const pid of pids) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try { process.kill(-child.pid!, signal); } catch { try { child.kill(signal); } catch { /* gone */ } }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { killGroup(child, 'SIGKILL'); }, timeoutMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
  });
}

/**
 * One PING on a fresh connection to host:port: the reply's first line, or undefined. With
 * `tls`, over TLS (the chain is checked, not the host name, as redis-cli does).
 */
export function pingOnce(host: string, port: number, timeoutMs = 1_000, tls?: PodTls): Promise<string | undefined> {
  return new Promise((resolve) => {
    const conn = tls ? tlsConnect({ host, port, ...tls, checkServerIdentity: () => undefined }) : createConnection({ host, port });
    let reply = '';
    conn.setTimeout(timeoutMs, () => conn.destroy());
    conn.on(tls ? 'secureConnect' : 'connect', () => conn.write('PING\r\n'));
    conn.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end >= 0) { conn.end(); resolve(reply.slice(0, end)); }
    });
    conn.on('error', () => resolve(undefined));
    conn.on('close', () => resolve(undefined));
  });
}

export interface NetnsPodOptions {
  readonly secrets?: Secrets;
  /** 'busybox': every `sh` and the programs the scripts name run as busybox (Alpine images). @default 'sh' */
  readonly shell?: 'sh' | 'busybox';
  /**
   * The PersistentVolume of each ordinal, to give a new StatefulSet (a changed pod template)
   * the claims of pods that ran before. @default a new empty folder per pod
   */
  readonly dataDirs?: readonly string[];
}

/**
 * How the `role-agent` container (the redis-gitops image) runs here: this checkout's
 * `redis-gitops role-agent` (tsx), with the container's args and env, plus `--kubeconfig`
 * (a test API server the pod's namespace reaches; test/support/netns/kube.ts) instead of the
 * projected service account token, and `args` (e.g. shorter intervals).
 */
export interface RoleAgentRun {
  readonly kubeconfig: string;
  readonly args?: readonly string[];
}

export interface RunResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Pod `<statefulset>-<ordinal>` of a rendered StatefulSet, in its own network namespace.
 * `start()` does what the kubelet does for a new pod: fresh emptyDirs (so Sentinel state
 * is gone), the pod's PersistentVolume kept, the init containers in order, then every
 * container; `kill()` is kill -9 of all its processes; `stop()` runs the redis container's
 * preStop, then SIGTERMs every container (SIGKILL after terminationGracePeriodSeconds).
 */
export class NetnsPod {
  readonly name: string;
  readonly address: PodAddress;
  /** The PersistentVolume: survives stop/kill/start; `wipeData()` empties it. */
  readonly dataDir: string;
  private readonly root: string;
  private generation = 0;
  private running: ContainerProcess[] = [];
  private volumeDirs: Record<string, string> = {};
  /** Output of each init container of the last start, by name. */
  initLogs: Record<string, RunResult> = {};
  /** Set when the source keeps the role-agent container (see RoleAgentRun). */
  roleAgent?: RoleAgentRun;

  constructor(
    private source: RenderedPodSource,
    readonly ordinal: number,
    private readonly network: PodNetwork,
    private options: NetnsPodOptions = {},
  ) {
    const sts = source.statefulSet;
    this.name = podName(sts, ordinal);
    this.address = network.addPod(this.name, `${this.name}.${sts.spec!.serviceName}.${this.namespace}.svc`);
    this.root = mkdtempSync(join(tmpdir(), `rgt-pod-${this.name}-`));
    this.dataDir = options.dataDirs?.[ordinal] ?? join(this.root, 'pv');
    mkdirSync(this.dataDir, { recursive: true });
  }

  get namespace(): string { return this.source.statefulSet.metadata?.namespace ?? 'default'; }
  get ip(): string { return this.address.ip; }
  get dnsName(): string { return this.address.dnsName; }
  get alive(): boolean { return this.running.some((p) => !exited(p.child)); }

  /** The log of container `name` in the current (or last) incarnation. */
  logs(name: string): string {
    const p = this.running.find((r) => r.container === name);
    const file = p ? p.logFile : join(this.root, `gen${this.generation}-${name}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /** Everything the pod wrote, for failure messages. */
  allLogs(): string {
    const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '(no log)');
    const init = podSpec(this.source.statefulSet).initContainers?.map((c) => `--- ${this.name}/${c.name} (init)\n${read(join(this.root, `gen${this.generation}-${c.name}.log`))}`) ?? [];
    const containers = this.running.map((p) => `--- ${this.name}/${p.container}\n${read(p.logFile)}`);
    return [...init, ...containers].join('\n');
  }

  /**
   * The next `start()` runs another pod template (and Secrets): what a rolling update does to
   * this pod, same name, same network namespace, same claim. The others keep theirs.
   */
  replaceTemplate(source: RenderedPodSource, options: Pick<NetnsPodOptions, 'secrets'> = {}): void {
    if (this.alive) throw new Error(`pod ${this.name} is running: stop it before replacing its template`);
    if (podName(source.statefulSet, this.ordinal) !== this.name) throw new Error(`the new template names pod ${podName(source.statefulSet, this.ordinal)}, not ${this.name}`);
    this.source = source;
    this.options = { ...this.options, ...options };
  }

  /** Empty the PersistentVolume (a lost disk, a deleted claim). */
  wipeData(): void {
    if (this.alive) throw new Error(`pod ${this.name} is running: stop it before wiping its data`);
    rmSync(this.dataDir, { recursive: true, force: true });
    mkdirSync(this.dataDir);
  }

  private commandOf(c: V1Container): string[] {
    return [...(c.command ?? []), ...(c.args ?? [])];
  }

  /** A container's env on this machine: resolved as the kubelet does, then the seam's path vars. */
  private envOf(c: V1Container, mounts: readonly Mount[], init: boolean): Record<string, string> {
    const env = resolveEnv(c.env, { name: this.name, namespace: this.namespace, secrets: this.options.secrets ?? {} });
    // The `config` init container honours RUNTIME_CONF (its only seam, as in test/support/redis).
    const withRuntime = init && !('RUNTIME_CONF' in env) ? { ...env, RUNTIME_CONF: RUNTIME_CONFIG_FILE } : env;
    return remapTlsFlagsEnv(remapPathEnv(withRuntime, mounts, PATH_ENV), mounts);
  }

  private binDir(dir: string): string {
    const bins = redisBinaries();
    mkdirSync(dir);
    symlinkSync(bins.server, join(dir, 'redis-server'));
    symlinkSync(bins.cli, join(dir, 'redis-cli'));
    symlinkSync(requireProgram('redis-sentinel'), join(dir, 'redis-sentinel'));
    if (this.options.shell === 'busybox') {
      // As in redis:*-alpine: sh and the programs the scripts run are busybox applets.
      const busybox = requireProgram('busybox', SYSTEM_PATH);
      for (const applet of ['sh', ...BUSYBOX_APPLETS]) symlinkSync(busybox, join(dir, applet));
    }
    return dir;
  }

  private spawnIn(argv: readonly string[], env: Record<string, string>, cwd: string, logFile: string): ChildProcess {
    const out = createWriteStream(logFile, { flags: 'a' });
    // `ip netns exec` enters the namespace, mounts /etc/netns/<ns>/hosts over /etc/hosts, then execs argv.
    const child = spawn(requireProgram('ip', SYSTEM_PATH), ['netns', 'exec', this.address.ns, ...argv], {
      env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    processes.add(child);
    child.once('exit', () => processes.delete(child));
    return child;
  }

  private runInit(container: V1Container, env: Record<string, string>, argv: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
    const logFile = join(this.root, `gen${this.generation}-${container.name}.log`);
    const child = this.spawnIn(argv, env, cwd, logFile);
    return new Promise((resolve) => {
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
      child.once('close', (code) => {
        clearTimeout(timer);
        const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        resolve({ exitCode: code, stdout: '', stderr: text });
      });
    });
  }

  /**
   * Start the pod (a new incarnation: new emptyDirs; `newIp` gives it a new pod IP as a
   * recreated pod may get). Resolves once every init container succeeded and redis-server
   * and the other containers are running; rejects with the init container's output when
   * one fails or does not finish within `initTimeoutMs`. `source`: the pod is created from
   * another template from now on (a rolling update's new revision; same StatefulSet name,
   * same claim).
   */
  async start(options: { readonly newIp?: boolean; readonly initTimeoutMs?: number; readonly source?: RenderedPodSource } = {}): Promise<void> {
    if (this.alive) throw new Error(`pod ${this.name} is already running`);
    if (options.source) {
      if (podName(options.source.statefulSet, this.ordinal) !== this.name) throw new Error(`pod ${this.name}: the new template belongs to another StatefulSet`);
      this.source = options.source;
    }
    this.generation += 1;
    if (options.newIp) this.network.assignIp(this.address);
    const sts = this.source.statefulSet;
    const spec = podSpec(sts);
    const gen = join(this.root, `gen${this.generation}`);
    mkdirSync(gen);
    this.volumeDirs = {};
    let configVolume: string | undefined;
    for (const volume of spec.volumes ?? []) {
      const dir = join(gen, 'volumes', volume.name);
      mkdirSync(dir, { recursive: true });
      if (volume.configMap) configVolume = volume.name;
      // As the kubelet projects a Secret (the password file of spec.auth).
      else if (volume.secret) projectVolume(dir, secretFiles(volume, this.options.secrets ?? {}));
      // The role agent's service account token stays empty: it gets --kubeconfig here (RoleAgentRun).
      else if (volume.projected && spec.containers.some((c) => c.name === ROLE_AGENT_CONTAINER_NAME)) { /* empty folder */ }
      else if (!volume.emptyDir) throw new Error(`volume ${volume.name}: only configMap, secret and emptyDir volumes are supported`);
      this.volumeDirs[volume.name] = dir;
    }
    if (!configVolume) throw new Error('the pod mounts no ConfigMap');
    const dataVolume = dataVolumeName(sts);
    this.volumeDirs[dataVolume] = this.dataDir;
    const redis = redisContainer(sts);
    const redisMounts = mountTable(redis.volumeMounts, this.volumeDirs);
    const files = configMapFiles(this.source.configMap, (conf) => remapPodConf(conf, redisMounts));
    for (const [file, content] of Object.entries(files)) writeFileSync(join(this.volumeDirs[configVolume], file), content);

    const bin = this.binDir(join(gen, 'bin'));
    const baseEnv = { PATH: `${bin}:${SYSTEM_PATH}`, HOME: gen, HOSTNAME: this.name };

    this.initLogs = {};
    this.running = [];
    for (const container of spec.initContainers ?? []) {
      const mounts = mountTable(container.volumeMounts, this.volumeDirs);
      const env = { ...baseEnv, ...this.envOf(container, mounts, true) };
      const argv = remapCommandPaths(this.commandOf(container), mounts);
      const result = await this.runInit(container, env, argv, gen, options.initTimeoutMs ?? 120_000);
      this.initLogs[container.name] = result;
      if (result.exitCode !== 0) {
        throw new Error(`pod ${this.name}: init container ${container.name} exited with ${result.exitCode}:\n${result.stderr}`);
      }
    }
    for (const container of spec.containers) {
      const mounts = mountTable(container.volumeMounts, this.volumeDirs);
      const env = { ...baseEnv, ...this.envOf(container, mounts, false) };
      const logFile = join(gen, `${container.name}.log`);
      if (container.name === ROLE_AGENT_CONTAINER_NAME) {
        if (!this.roleAgent) throw new Error(`pod ${this.name}: the role-agent container needs a test API server (connectPodApi)`);
        const argv = [process.execPath, '--import', 'tsx', join(ROOT, 'src', 'cli', 'bin.ts'), ...this.commandOf(container),
          '--kubeconfig', this.roleAgent.kubeconfig, ...(this.roleAgent.args ?? [])];
        this.running.push({ container: container.name, child: this.spawnIn(argv, env, ROOT, logFile), logFile });
        continue;
      }
      const argv = remapCommandPaths(this.commandOf(container), mounts);
      // The official images' WORKDIR is /data.
      const cwd = container.workingDir ? hostPath(mounts, container.workingDir) : this.dataDir;
      this.running.push({ container: container.name, child: this.spawnIn(argv, env, cwd, logFile), logFile });
    }
    const deadline = Date.now() + 20_000;
    // With spec.tls the ports named redis and sentinel speak TLS only; the *-plain ones plain TCP.
    const tls = podTls(this.source, this.options.secrets);
    for (const { containerPort: port, name } of spec.containers.flatMap((c) => c.ports ?? [])) {
      for (;;) {
        const reply = await pingOnce(this.ip, port, 1_000, name === 'redis' || name === 'sentinel' ? tls : undefined);
        if (reply === '+PONG' || reply?.startsWith('-NOAUTH')) break;
        if (!this.alive || Date.now() > deadline) {
          throw new Error(`pod ${this.name}: port ${port} did not answer PING:\n${this.allLogs()}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Run an exec command of container `name` (a hook) in the pod, with that container's env. */
  async exec(name: string, command: readonly string[], timeoutMs: number): Promise<RunResult> {
    const container = podSpec(this.source.statefulSet).containers.find((c) => c.name === name);
    if (!container) throw new Error(`no container ${name}`);
    const mounts = mountTable(container.volumeMounts, this.volumeDirs);
    const bin = join(this.root, `gen${this.generation}`, 'bin');
    const env = { PATH: `${bin}:${SYSTEM_PATH}`, HOME: this.root, HOSTNAME: this.name, ...this.envOf(container, mounts, false) };
    const child = this.spawnIn(remapCommandPaths(command, mounts), env, this.root, join(this.root, `gen${this.generation}-exec.log`));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    return new Promise((resolve) => {
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
      child.once('close', (code) => { clearTimeout(timer); resolve({ exitCode: code, stdout, stderr }); });
    });
  }

  /** kill -9 of every process of the pod (a crashed node): every process in its network namespace. */
  async kill(): Promise<void> {
    for (const p of this.running) killGroup(p.child, 'SIGKILL');
    killNamespace(this.address.ns);
    await Promise.all(this.running.map((p) => waitForExit(p.child, 5_000)));
  }

  /**
   * Delete the pod as the kubelet does: the redis container's exec preStop (bounded by
   * terminationGracePeriodSeconds), then SIGTERM to every container, SIGKILL at the end of
   * the grace period. Returns the preStop's result. `preStop: false`: SIGTERM only.
   */
  async stop(options: { readonly preStop?: boolean } = {}): Promise<RunResult | undefined> {
    const spec = podSpec(this.source.statefulSet);
    const graceMs = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const started = Date.now();
    const preStop = redisContainer(this.source.statefulSet).lifecycle?.preStop?.exec?.command;
    // Containers without a preStop get SIGTERM at once (the kubelet stops containers in parallel).
    for (const p of this.running) if (p.container !== redisContainer(this.source.statefulSet).name) killGroup(p.child, 'SIGTERM');
    const result = preStop && options.preStop !== false && this.alive ? await this.exec(redisContainer(this.source.statefulSet).name, preStop, graceMs) : undefined;
    for (const p of this.running) if (!exited(p.child)) p.child.kill('SIGTERM');
    await Promise.all(this.running.map((p) => waitForExit(p.child, Math.max(1_000, graceMs - (Date.now() - started)))));
    return result;
  }

  /** Kill everything and remove the pod's folders. */
  async cleanup(): Promise<void> {
    await this.kill();
    rmSync(this.root, { recursive: true, force: true });
  }
}
