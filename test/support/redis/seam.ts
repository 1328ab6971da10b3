/**
 * The seam, as pure functions: how a rendered pod maps onto this machine. Each function
 * changes only what it names and throws when what it expects to change is not there, so a
 * change to the rendered objects cannot slip past the tests by silently not matching.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { V1ConfigMap, V1Container, V1EnvVar, V1StatefulSet, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { CONFIG_FILE, RUNTIME_CONFIG_FILE } from '../../../src/redis-conf/render';
import { quoteConfArg, rewriteConfLines } from '../../../src/redis-conf/verify';
import { CONTAINER_NAME } from '../../../src/render/instance';

/** What the tests run: a StatefulSet and its ConfigMap, as renderInstance (or dist/) gives them. */
export interface RenderedPodSource {
  readonly statefulSet: V1StatefulSet;
  readonly configMap: V1ConfigMap;
}

/** Secrets by name, then key: what `secretKeyRef` reads. */
export type Secrets = Readonly<Record<string, Readonly<Record<string, string>>>>;

export function podSpec(sts: V1StatefulSet) {
  const spec = sts.spec?.template?.spec;
  if (!spec) throw new Error(`StatefulSet ${sts.metadata?.name} has no pod template spec`);
  return spec;
}

/** The redis container of the pod template. */
export function redisContainer(sts: V1StatefulSet): V1Container {
  const container = podSpec(sts).containers.find((c) => c.name === CONTAINER_NAME);
  if (!container) throw new Error(`StatefulSet ${sts.metadata?.name} has no container "${CONTAINER_NAME}"`);
  return container;
}

/** The port Redis listens on in the pod: the redis container's port named `redis`. */
export function containerPort(sts: V1StatefulSet): number {
  const port = redisContainer(sts).ports?.find((p) => p.name === 'redis')?.containerPort;
  if (!port) throw new Error(`the redis container of ${sts.metadata?.name} has no port named "redis"`);
  return port;
}

/** `<statefulset>-<ordinal>`, as the StatefulSet controller names pods. */
export function podName(sts: V1StatefulSet, ordinal: number): string {
  return `${sts.metadata!.name}-${ordinal}`;
}

/** Pod 0's stable DNS name through the governing Service: the only name our "DNS" resolves. */
export function primaryDnsName(sts: V1StatefulSet): string {
  return `${podName(sts, 0)}.${sts.spec!.serviceName}.${sts.metadata!.namespace}.svc`;
}

/** The name of the volume behind the data claim (the StatefulSet's only volumeClaimTemplate). */
export function dataVolumeName(sts: V1StatefulSet): string {
  const templates = sts.spec?.volumeClaimTemplates ?? [];
  if (templates.length !== 1) throw new Error(`expected one volumeClaimTemplate, got ${templates.length}`);
  return templates[0].metadata!.name!;
}

/** A container's mounts, each mapped to the host folder that stands for its volume. */
export interface Mount {
  readonly mountPath: string;
  readonly hostDir: string;
  readonly volume: string;
}

export function mountTable(mounts: readonly V1VolumeMount[] | undefined, volumeDirs: Readonly<Record<string, string>>): Mount[] {
  return (mounts ?? []).map((m) => {
    const hostDir = volumeDirs[m.name];
    if (!hostDir) throw new Error(`volumeMount ${m.mountPath} refers to volume "${m.name}", which the pod does not have`);
    return { mountPath: m.mountPath, hostDir, volume: m.name };
  });
}

/**
 * Where a container path lives on the host: under the longest mount that contains it.
 * A path outside every mount throws: with readOnlyRootFilesystem the pod could not write
 * it, and it would not survive a restart or be shared between containers either.
 */
export function hostPath(mounts: readonly Mount[], containerPath: string): string {
  const mount = mounts
    .filter((m) => containerPath === m.mountPath || containerPath.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) throw new Error(`${containerPath} is not on any volume mount (${mounts.map((m) => m.mountPath).join(', ') || 'none'})`);
  return mount.hostDir + containerPath.slice(mount.mountPath.replace(/\/$/, '').length);
}

/** A container's env as the kubelet resolves it: literal values, the pod name, Secret keys. */
export function resolveEnv(
  env: readonly V1EnvVar[] | undefined,
  pod: { readonly name: string; readonly namespace: string; readonly secrets: Secrets },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) {
      const field = e.valueFrom.fieldRef.fieldPath;
      if (field === 'metadata.name') out[e.name] = pod.name;
      else if (field === 'metadata.namespace') out[e.name] = pod.namespace;
      else throw new Error(`env ${e.name}: fieldRef ${field} is not supported by the test harness`);
    } else if (e.valueFrom?.secretKeyRef) {
      const { name, key, optional } = e.valueFrom.secretKeyRef;
      const value = name === undefined ? undefined : pod.secrets[name]?.[key];
      if (value !== undefined) out[e.name] = value;
      else if (!optional) throw new Error(`env ${e.name}: Secret "${name}" has no key "${key}" (pass it in secrets); the kubelet would not start the pod`);
    } else if (!e.valueFrom) out[e.name] = '';
    else throw new Error(`env ${e.name}: this valueFrom is not supported by the test harness`);
  }
  return out;
}

/**
 * The init container's env with the primary's address resolved: PRIMARY_HOST must be pod
 * 0's DNS name (it becomes 127.0.0.1) and PRIMARY_PORT the container port (it becomes pod
 * 0's port on this machine). Nothing else changes.
 */
export function remapPrimaryEnv(
  env: Readonly<Record<string, string>>,
  expected: { readonly dnsName: string; readonly containerPort: number; readonly primaryPort: number },
): Record<string, string> {
  if (!('PRIMARY_HOST' in env) && !('PRIMARY_PORT' in env)) return { ...env };
  if (env.PRIMARY_HOST !== expected.dnsName) {
    throw new Error(`PRIMARY_HOST is "${env.PRIMARY_HOST}"; only pod 0's stable name "${expected.dnsName}" resolves`);
  }
  if (env.PRIMARY_PORT !== String(expected.containerPort)) {
    throw new Error(`PRIMARY_PORT is "${env.PRIMARY_PORT}", not the container port ${expected.containerPort}`);
  }
  return { ...env, PRIMARY_HOST: '127.0.0.1', PRIMARY_PORT: String(expected.primaryPort) };
}

/**
 * The init container's DATA_DIR (where its script finds the data volume), when it has one:
 * it must be the mount path of the data volume in that container, and becomes the pod's
 * data folder on this machine. Nothing else changes.
 */
export function remapDataDirEnv(
  env: Readonly<Record<string, string>>, mounts: readonly Mount[], dataVolume: string,
): Record<string, string> {
  if (!('DATA_DIR' in env)) return { ...env };
  const mount = mounts.find((m) => m.volume === dataVolume);
  if (!mount) throw new Error(`DATA_DIR is "${env.DATA_DIR}", but the container does not mount the data volume ${dataVolume}`);
  if (env.DATA_DIR !== mount.mountPath) {
    throw new Error(`DATA_DIR is "${env.DATA_DIR}", not the mount path ${mount.mountPath} of the data volume ${dataVolume}`);
  }
  return { ...env, DATA_DIR: mount.hostDir };
}

/** Env vars that hold a path in the container: each must lie on one of its mounts. */
export const PATH_ENV_VARS: readonly string[] = ['REDIS_PASSWORD_FILE', 'AGENT_STATUS', 'EXPORTER_PASSWORD_FILE'];

/**
 * A container's env with the paths the scripts read from it mapped to the host:
 * PATH_ENV_VARS, and RUNTIME_CONF where the rendered env sets it (the init container gets
 * it from the harness). With `ports`, REDIS_PORT must be the container port and becomes
 * the pod's port here. Nothing else changes.
 */
export function remapPathEnv(
  env: Readonly<Record<string, string>>, mounts: readonly Mount[], ports?: { readonly containerPort: number; readonly port: number },
): Record<string, string> {
  const out = { ...env };
  for (const name of [...PATH_ENV_VARS, 'RUNTIME_CONF']) if (out[name] !== undefined) out[name] = hostPath(mounts, out[name]);
  if (ports && out.REDIS_PORT !== undefined) {
    if (out.REDIS_PORT !== String(ports.containerPort)) throw new Error(`REDIS_PORT is "${out.REDIS_PORT}", not the container port ${ports.containerPort}`);
    out.REDIS_PORT = String(ports.port);
  }
  return out;
}

/** A Secret volume's files (`items`, or every key), as the kubelet projects them, from `secrets`. */
export function secretFiles(volume: V1Volume, secrets: Secrets): Record<string, string> {
  const name = volume.secret!.secretName!;
  const data = secrets[name];
  if (!data) throw new Error(`volume ${volume.name}: Secret "${name}" not given (pass it in secrets); the kubelet would not start the pod`);
  const items = volume.secret!.items ?? Object.keys(data).map((key) => ({ key, path: key }));
  return Object.fromEntries(items.map(({ key, path }) => {
    if (data[key] === undefined) throw new Error(`volume ${volume.name}: Secret "${name}" has no key "${key}"; the kubelet would not start the pod`);
    return [path, data[key]];
  }));
}

/**
 * redis.conf as the test runs it: exactly these lines change, one for one.
 * - `dir <data mount>` → the pod's data folder on this machine;
 * - `port <container port>` → a free port;
 * - `bind 0.0.0.0` → `bind 127.0.0.1`: a test server (protected-mode off, often no
 *   password) must not be reachable from the network;
 * - `include /run/redis/runtime.conf` → where the init container wrote it on this machine.
 */
export function remapRedisConf(conf: string, to: {
  readonly dataMountPath: string; readonly dataDir: string;
  readonly containerPort: number; readonly port: number;
  readonly runtimeConf: string;
  /** With TLS: the free port for a plain `port <n>` line other than `port 0` (a migration's plain port). */
  readonly plainPort?: number;
  /** With TLS: a container path on a mount → the file on this machine. */
  readonly hostPath?: (containerPath: string) => string;
}): string {
  return rewriteConfLines(conf, [
    [`dir ${to.dataMountPath}`, `dir ${quoteConfArg(to.dataDir)}`],
    ...tlsConfLines(conf, to),
    ['bind 0.0.0.0', 'bind 127.0.0.1'],
    [`include ${RUNTIME_CONFIG_FILE}`, `include ${quoteConfArg(to.runtimeConf)}`],
  ]);
}

/** The TLS directives whose argument is a file in the pod. */
export const TLS_FILE_DIRECTIVES = ['tls-cert-file', 'tls-key-file', 'tls-ca-cert-file'] as const;

/**
 * The port lines: without TLS `port <container port>` → the free port. With TLS (the line
 * `tls-port <container port>`): that line → the free port; `port 0` stays (no plain
 * listener), any other `port <n>` → `plainPort`; and each TLS file directive's path → the
 * file on this machine.
 */
function tlsConfLines(conf: string, to: Parameters<typeof remapRedisConf>[1]): Array<readonly [string, string]> {
  const lines = conf.split('\n');
  if (!lines.includes(`tls-port ${to.containerPort}`)) return [[`port ${to.containerPort}`, `port ${to.port}`]];
  const out: Array<readonly [string, string]> = [[`tls-port ${to.containerPort}`, `tls-port ${to.port}`]];
  const plain = lines.find((l) => /^port \d+$/.test(l));
  if (!plain) throw new Error('redis.conf with tls-port has no port line');
  if (plain !== 'port 0') {
    if (to.plainPort === undefined) throw new Error(`redis.conf has "${plain}" besides TLS: pass plainPort`);
    out.push([plain, `port ${to.plainPort}`]);
  }
  for (const directive of TLS_FILE_DIRECTIVES) {
    const line = lines.find((l) => l.startsWith(`${directive} `));
    if (!line) throw new Error(`redis.conf with tls-port has no ${directive}`);
    if (!to.hostPath) throw new Error('redis.conf has TLS files: pass hostPath');
    out.push([line, `${directive} ${quoteConfArg(to.hostPath(line.slice(directive.length + 1)))}`]);
  }
  return out;
}

/**
 * A probe's exec command with `-p <container port>` (exactly once) pointed at `port`.
 * Only `sh -c <script>` commands are expected.
 */
export function remapProbeCommand(
  command: readonly string[] | undefined, containerPort: number, port: number, hostPathOf?: (containerPath: string) => string,
): string[] {
  if (!command || command.length !== 3 || command[0] !== 'sh' || command[1] !== '-c') {
    throw new Error(`expected a probe command ["sh", "-c", script], got ${JSON.stringify(command)}`);
  }
  const flag = new RegExp(`(^|\\s)-p ${containerPort}(?=\\s|$)`, 'g');
  const found = command[2].match(flag)?.length ?? 0;
  if (found !== 1) throw new Error(`expected "-p ${containerPort}" once in the probe command, found it ${found} times: ${command[2]}`);
  let script = command[2].replace(flag, `$1-p ${port}`);
  // redis-cli's TLS files (--cacert/--cert/--key <path>): each path on a mount → its file here.
  script = script.replace(/(^|\s)(--(?:cacert|cert|key)) (\/\S+)/g, (_m, pre: string, opt: string, path: string) => {
    if (!hostPathOf) throw new Error(`the probe command names ${path}: pass the container's mounts`);
    return `${pre}${opt} '${hostPathOf(path).replace(/'/g, `'\\''`)}'`;
  });
  return ['sh', '-c', script];
}

/**
 * A container command with every absolute path argument mapped to the host; each must be
 * on a volume mount (the ConfigMap's redis.conf is).
 */
export function remapCommandPaths(command: readonly string[], mounts: readonly Mount[]): string[] {
  return command.map((arg) => (arg.startsWith('/') ? hostPath(mounts, arg) : arg));
}

/** The ConfigMap's files, as the kubelet would project them into the volume. */
export function configMapFiles(configMap: V1ConfigMap, remapConf: (conf: string) => string): Record<string, string> {
  const data = configMap.data ?? {};
  if (data[CONFIG_FILE] === undefined) throw new Error(`ConfigMap ${configMap.metadata?.name} has no ${CONFIG_FILE}`);
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, k === CONFIG_FILE ? remapConf(v) : v]));
}

/** A Secret value for every `secretKeyRef` and Secret volume item of the pod template. */
export function secretsFor(sts: V1StatefulSet, value: string): Record<string, Record<string, string>> {
  const spec = podSpec(sts);
  const out: Record<string, Record<string, string>> = {};
  for (const volume of spec.volumes ?? []) {
    const secret = volume.secret;
    if (secret?.secretName) for (const item of secret.items ?? []) (out[secret.secretName] ??= {})[item.key] = value;
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref?.name) (out[ref.name] ??= {})[ref.key] = value;
    }
  }
  return out;
}

/**
 * Programs the images' commands name by absolute path, and what runs them here: the
 * exporter image's entrypoint `/redis_exporter` is Debian's `prometheus-redis-exporter`
 * ($REDIS_EXPORTER, else on PATH).
 */
export const IMAGE_PROGRAMS: Readonly<Record<string, { readonly program: string; readonly envVar: string }>> = {
  '/redis_exporter': { program: 'prometheus-redis-exporter', envVar: 'REDIS_EXPORTER' },
};

/** A sidecar's command with the image's program mapped to this machine's (see IMAGE_PROGRAMS); nothing else changes. */
export function remapImageCommand(command: readonly string[] | undefined, find: (program: string, envVar: string) => string): string[] {
  const [program, ...rest] = command ?? [];
  const known = program === undefined ? undefined : IMAGE_PROGRAMS[program];
  if (!known) throw new Error(`the test harness does not know the program ${JSON.stringify(program)} of this sidecar (known: ${Object.keys(IMAGE_PROGRAMS).join(', ')})`);
  return [find(known.program, known.envVar), ...rest];
}

/**
 * The exporter sidecar's env, as it runs here: exactly these variables change.
 * - REDIS_ADDR must be `redis://localhost:<container port>` (or `rediss://`) → this pod's port;
 * - REDIS_EXPORTER_WEB_LISTEN_ADDRESS must be `:<its metrics container port>` → `127.0.0.1:<free port>`
 *   (a test exporter is not reachable from the network);
 * - REDIS_EXPORTER_TLS_*_FILE: container paths → the files on this machine (on the container's mounts);
 * - REDIS_PASSWORD_FILE (the exporter's own password, a JSON map keyed by REDIS_ADDR): → a
 *   copy next to it, keyed by this pod's REDIS_ADDR here (the file itself is left as the
 *   init container wrote it).
 */
export function remapExporterEnv(env: Readonly<Record<string, string>>, to: {
  readonly containerPort: number; readonly port: number;
  readonly metricsContainerPort: number; readonly metricsPort: number;
  readonly mounts: readonly Mount[];
}): Record<string, string> {
  const out = { ...env };
  const addr = /^(rediss?):\/\/localhost:(\d+)$/.exec(env.REDIS_ADDR ?? '');
  if (!addr || Number(addr[2]) !== to.containerPort) {
    throw new Error(`REDIS_ADDR is ${JSON.stringify(env.REDIS_ADDR)}, not redis[s]://localhost:${to.containerPort}`);
  }
  out.REDIS_ADDR = `${addr[1]}://localhost:${to.port}`;
  if (env.REDIS_EXPORTER_WEB_LISTEN_ADDRESS !== `:${to.metricsContainerPort}`) {
    throw new Error(`REDIS_EXPORTER_WEB_LISTEN_ADDRESS is ${JSON.stringify(env.REDIS_EXPORTER_WEB_LISTEN_ADDRESS)}, not ":${to.metricsContainerPort}"`);
  }
  out.REDIS_EXPORTER_WEB_LISTEN_ADDRESS = `127.0.0.1:${to.metricsPort}`;
  for (const key of Object.keys(env).filter((k) => /^REDIS_EXPORTER_TLS_.*_FILE$/.test(k))) out[key] = hostPath(to.mounts, env[key]);
  if (env.REDIS_PASSWORD_FILE !== undefined) {
    const file = hostPath(to.mounts, env.REDIS_PASSWORD_FILE);
    const map = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    if (Object.keys(map).join() !== env.REDIS_ADDR) throw new Error(`the exporter's password file is keyed ${JSON.stringify(Object.keys(map))}, not by REDIS_ADDR ${env.REDIS_ADDR}`);
    const copy = `${file}.harness`;
    rmSync(copy, { force: true });
    writeFileSync(copy, JSON.stringify({ [out.REDIS_ADDR]: map[env.REDIS_ADDR] }), { mode: 0o440 });
    out.REDIS_PASSWORD_FILE = copy;
  }
  return out;
}
