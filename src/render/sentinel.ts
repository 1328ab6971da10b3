import { podScript } from './pod-script';
import type { V1Container, V1EnvVar, V1Lifecycle, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { ResolvedRedisInstance } from '../api/types';
import {
  CONFIG_DIR, REDIS_PORT, RUNTIME_CONFIG_DIR, RUNTIME_CONFIG_FILE, mergedRedisConfig,
} from '../redis-conf/render';
import { AUTH_DIR, AUTH_VOLUME, PASSWORD_FILE } from './config-agent';
import { DATA_DIR, DATA_VOLUME, REDIS_CONTAINER_SECURITY_CONTEXT } from './pod';
import {
  SENTINEL_PLAINTEXT_PORT, SENTINEL_PLAINTEXT_PORT_NAME, TLS_CLI_FLAGS, TLS_CLI_FLAGS_ENV, TLS_VOLUME_MOUNT, tlsOf,
} from './tls';

/**
 * The pod side of failover (spec.failover: sentinel): the scripts that run in every pod
 * (src/pod/*.sh, shipped verbatim in the instance's ConfigMap) and the parts of the pod
 * template that run them: a Sentinel container, the redis container's preStop, the init
 * container's start-up step. Pure: renderStatefulSet merges these in. The model is in
 * docs/failover.md.
 */

export const SENTINEL_PORT = 26379;
export const SENTINEL_CONTAINER_NAME = 'sentinel';
/** The Sentinel's writable config (Sentinel rewrites it with what it learns): an emptyDir. */
export const SENTINEL_VOLUME = 'sentinel';
export const SENTINEL_DIR = '/run/sentinel';
/** Pod template annotation: SHA-256 of the scripts, so that a script change rolls the pods. */
export const SCRIPTS_HASH_ANNOTATION = 'redis.github.com/scripts-hash';

/** The pod scripts, by ConfigMap key (= file name under src/pod/ and the mount). */
export const POD_SCRIPT_FILES = ['ha-lib.sh', 'ha-init.sh', 'ha-sentinel.sh', 'ha-pre-stop.sh'] as const;

/** How long the preStop hook may take to move the primary (writes are paused meanwhile). */
export const PRE_STOP_TIMEOUT_SECONDS = 20;
/**
 * terminationGracePeriodSeconds for failover pods: the preStop budget, then Redis's own
 * shutdown (it waits up to shutdown-timeout, 10 s, for lagging replicas, then saves).
 */
export const TERMINATION_GRACE_PERIOD_SECONDS = PRE_STOP_TIMEOUT_SECONDS + 40;
/**
 * How long the start-up step waits for a primary to follow (or for all nodes to answer an
 * election) before the init container fails and the kubelet retries it; also bounds loading
 * the data directory to read its offset and key count.
 */
export const START_TIMEOUT_SECONDS = 600;

/** The start-up step's init container: runs after the `config` init container. */
export const START_UP_CONTAINER_NAME = 'start-up';

/** Redis's default replica-priority (the value the promotion guard restores). */
const DEFAULT_REPLICA_PRIORITY = '100';

const scriptSources: Record<string, string> = Object.fromEntries(
  POD_SCRIPT_FILES.map((file) => [file, podScript(file)]),
);

function failoverOf(instance: ResolvedRedisInstance): NonNullable<ResolvedRedisInstance['spec']['failover']> {
  const failover = instance.spec.failover;
  if (!failover) throw new Error(`RedisInstance ${instance.namespace}/${instance.name}: spec.failover is not sentinel`);
  return failover;
}

/** The script files to add to the instance's ConfigMap (keys = file names). */
export function sentinelConfigMapData(instance: ResolvedRedisInstance): Record<string, string> {
  failoverOf(instance);
  return { ...scriptSources };
}

/** Hex SHA-256 over the script files, in key order (the SCRIPTS_HASH_ANNOTATION value). */
export function scriptsHash(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(files).sort()) hash.update(`${key}\0${files[key]}\0`);
  return hash.digest('hex');
}

const fieldEnv = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

function passwordEnv(instance: ResolvedRedisInstance): V1EnvVar[] {
  const auth = instance.spec.auth;
  return auth ? [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.secretKey } } }] : [];
}

/** Unquote a plain redis.conf value ("100" or '100'); priorities are integers. */
function confValue(value: string): string {
  return value.replace(/^(["'])(.*)\1$/s, '$2');
}

/** Env both the init step and the Sentinel container read (the names in docs/failover.md). */
function commonEnv(instance: ResolvedRedisInstance): V1EnvVar[] {
  const failover = failoverOf(instance);
  return [
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    { name: 'INSTANCE', value: instance.name },
    { name: 'REPLICAS', value: String(instance.spec.replicas) },
    { name: 'REDIS_PORT', value: String(REDIS_PORT) },
    { name: 'SENTINEL_PORT', value: String(SENTINEL_PORT) },
    { name: 'SENTINEL_QUORUM', value: String(failover.quorum) },
    { name: 'SENTINEL_DOWN_AFTER_MS', value: String(failover.downAfterMilliseconds) },
    { name: 'SENTINEL_FAILOVER_TIMEOUT_MS', value: String(failover.failoverTimeoutMilliseconds) },
    { name: 'RUNTIME_CONF', value: RUNTIME_CONFIG_FILE },
    { name: 'START_TIMEOUT_SECONDS', value: String(START_TIMEOUT_SECONDS) },
    // spec.tls: every redis-cli call of the scripts, to Redis and to Sentinel, uses TLS.
    ...(tlsOf(instance) ? [{ name: TLS_CLI_FLAGS_ENV, value: TLS_CLI_FLAGS }] : []),
  ];
}

/** The TLS Secret's mount, for the containers that run the scripts (their redis-cli presents the pod's certificate). */
function tlsMounts(instance: ResolvedRedisInstance): V1VolumeMount[] {
  return tlsOf(instance) ? [structuredClone(TLS_VOLUME_MOUNT)] : [];
}

/** The start-up step's env: the data file names come from the merged config. */
function startUpEnv(instance: ResolvedRedisInstance): V1EnvVar[] {
  const merged = mergedRedisConfig(instance.spec.config);
  const file = (key: string, fallback: string) => (merged[key] === undefined ? fallback : confValue(merged[key]));
  return [
    ...commonEnv(instance),
    { name: 'PRE_STOP_TIMEOUT_SECONDS', value: String(PRE_STOP_TIMEOUT_SECONDS) },
    { name: 'DATA_DIR', value: DATA_DIR },
    { name: 'RDB_FILENAME', value: file('dbfilename', 'dump.rdb') },
    { name: 'AOF_DIRNAME', value: file('appenddirname', 'appendonlydir') },
    { name: 'AOF_FILENAME', value: file('appendfilename', 'appendonly.aof') },
    ...passwordEnv(instance),
  ];
}

/**
 * The start-up step (ha-init.sh), an init container of its own after `config` (which
 * writes the runtime include): it loads the data directory to read its offset and key
 * count, so it gets the redis container's resources.
 */
function startUpContainer(instance: ResolvedRedisInstance): V1Container {
  const resources = instance.spec.resources;
  return {
    name: START_UP_CONTAINER_NAME,
    image: instance.spec.image,
    command: ['sh', `${CONFIG_DIR}/ha-init.sh`],
    env: startUpEnv(instance),
    ...(resources ? { resources: structuredClone(resources) as V1Container['resources'] } : {}),
    securityContext: containerSecurityContext,
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'runtime', mountPath: RUNTIME_CONFIG_DIR },
      { name: DATA_VOLUME, mountPath: DATA_DIR },
      // The inspect server loads redis.conf's certificate files; the election reads peers over TLS.
      ...tlsMounts(instance),
    ],
  };
}

const containerSecurityContext = REDIS_CONTAINER_SECURITY_CONTEXT;

/**
 * Sentinel answers PING (it needs no password for PING only when it has none: REDISCLI_AUTH
 * covers both); with TLS, over TLS, as the Redis probes. The password is read from the
 * Secret volume on each probe, so a live rotation does not fail the probe.
 */
export function sentinelProbeCommand(tls = false): string[] {
  return ['sh', '-c', '[ -z "${REDIS_PASSWORD_FILE:-}" ] || { pw=$(cat "$REDIS_PASSWORD_FILE"; printf .); export REDISCLI_AUTH="${pw%.}"; }; '
    + `redis-cli ${tls ? `${TLS_CLI_FLAGS} ` : ''}-h 127.0.0.1 -p ${SENTINEL_PORT} ping | grep -q PONG`];
}

function sentinelContainer(instance: ResolvedRedisInstance): V1Container {
  const merged = mergedRedisConfig(instance.spec.config);
  const priority = merged['replica-priority'] === undefined ? DEFAULT_REPLICA_PRIORITY : confValue(merged['replica-priority']);
  const auth = instance.spec.auth;
  const tls = tlsOf(instance);
  const probeCommand = sentinelProbeCommand(!!tls);
  return {
    name: SENTINEL_CONTAINER_NAME,
    image: instance.spec.image,
    command: ['sh', `${CONFIG_DIR}/ha-sentinel.sh`],
    ports: [
      { name: 'sentinel', containerPort: SENTINEL_PORT, protocol: 'TCP' },
      ...(tls?.allowPlaintext ? [{ name: SENTINEL_PLAINTEXT_PORT_NAME, containerPort: SENTINEL_PLAINTEXT_PORT, protocol: 'TCP' }] : []),
    ],
    env: [
      ...commonEnv(instance),
      { name: 'SENTINEL_DIR', value: SENTINEL_DIR },
      { name: 'REPLICA_PRIORITY', value: priority },
      ...(tls?.allowPlaintext ? [{ name: 'SENTINEL_PLAINTEXT_PORT', value: String(SENTINEL_PLAINTEXT_PORT) }] : []),
      // The scripts and probes read the password from the Secret volume on each call (a live rotation updates it).
      ...(auth ? [{ name: 'REDIS_PASSWORD_FILE', value: PASSWORD_FILE }] : []),
    ],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
    readinessProbe: { exec: { command: probeCommand }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1 },
    livenessProbe: {
      exec: { command: probeCommand }, initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6, successThreshold: 1,
    },
    securityContext: containerSecurityContext,
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'runtime', mountPath: RUNTIME_CONFIG_DIR, readOnly: true },
      { name: SENTINEL_VOLUME, mountPath: SENTINEL_DIR },
      ...(auth ? [{ name: AUTH_VOLUME, mountPath: AUTH_DIR, readOnly: true }] : []),
      ...tlsMounts(instance),
    ],
  };
}

export interface SentinelPodParts {
  /**
   * Extra env of the `config` init container: none, the start-up step is an init
   * container of its own (initContainers), so its command stays a plain file path.
   */
  readonly initEnv: V1EnvVar[];
  /** Extra mounts of the `config` init container: none (see initEnv). */
  readonly initVolumeMounts: V1VolumeMount[];
  /** Init containers added after `config`: the start-up step. */
  readonly initContainers: V1Container[];
  /** Containers added after the redis container: Sentinel. */
  readonly containers: V1Container[];
  /** Volumes added to the pod: Sentinel's emptyDir. */
  readonly volumes: V1Volume[];
  /** The redis container's lifecycle: the preStop failover. */
  readonly redisLifecycle: V1Lifecycle;
  /** Extra mounts of the redis container (none: it mounts the ConfigMap and runtime volume already). */
  readonly redisVolumeMounts: V1VolumeMount[];
}

/** The parts renderStatefulSet merges into the pod template of a failover instance. */
export function sentinelPodParts(instance: ResolvedRedisInstance): SentinelPodParts {
  return {
    initEnv: [],
    initVolumeMounts: [],
    initContainers: [startUpContainer(instance)],
    containers: [sentinelContainer(instance)],
    volumes: [{ name: SENTINEL_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }],
    redisLifecycle: {
      preStop: { exec: { command: ['sh', `${CONFIG_DIR}/ha-pre-stop.sh`, `${RUNTIME_CONFIG_DIR}/ha.env`] } },
    },
    redisVolumeMounts: [],
  };
}
