import type {
  V1Affinity, V1ConfigMap, V1Container, V1EnvVar, V1PodDisruptionBudget, V1PodTemplateSpec, V1Probe, V1Role, V1RoleBinding,
  V1SecurityContext, V1Service, V1ServiceAccount, V1StatefulSet, V1TopologySpreadConstraint,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { singleConfArg, yesNo } from '../redis-conf/args';
import { DATA_DIR, DATA_VOLUME, REDIS_CONTAINER_SECURITY_CONTEXT, REDIS_UID } from './pod';
import type { ResolvedRedisInstance } from '../api/types';
import {
  CONFIG_DIR, CONFIG_FILE, REDIS_PORT, RUNTIME_CONFIG_DIR, RUNTIME_CONFIG_FILE, mergedRedisConfig, renderRedisConf,
} from '../redis-conf/render';
import { derivedMemoryConfig } from '../redis-conf/memory';
import { renderNetworkPolicy, type NetworkPolicy } from './network-policy';
import {
  PLAINTEXT_PORT, PLAINTEXT_PORT_NAME, SENTINEL_PLAINTEXT_PORT, SENTINEL_PLAINTEXT_PORT_NAME, TLS_CA_FILE, TLS_CERT_FILE, TLS_CLI_FLAGS, TLS_KEY_FILE, TLS_VOLUME_MOUNT, renderCertificate,
  tlsOf, tlsRedisConfig, tlsVolume, type Certificate,
} from './tls';
import {
  EXPORTER_AUTH_SCRIPT, METRICS_PORT, METRICS_PORT_NAME, exporterAuthInit, exporterAuthVolumes, metricsOf, renderExporterContainer, renderPodMonitor, renderPrometheusRule,
  type PodMonitor, type PrometheusRule,
} from './metrics';
import { ROLE_LABEL, roleAgentContainer, roleAgentName, roleAgentRules, roleAgentVolumes } from './role-agent';
import {
  SCRIPTS_HASH_ANNOTATION, SENTINEL_PORT, TERMINATION_GRACE_PERIOD_SECONDS, scriptsHash, sentinelConfigMapData, sentinelPodParts,
} from './sentinel';

export { FAILOVER_BELOW_ANNOTATION, FAILOVER_REQUESTED_ANNOTATION, ROLE_LABEL, type Role } from './role-agent';
import {
  authMounts, authVolumes, configAgentContainer, configAgentData, passwordFileEnv, podConfigHash,
} from './config-agent';

/**
 * Pure builders: one ResolvedRedisInstance in, the Kubernetes objects that run it out.
 * The cdk8s construct (synth) and the reconciler (desired state) both call these, so Git
 * and the cluster never disagree about what an instance should look like.
 */

/** On the pod template: SHA-256 of what only a restart applies (restart-only keys and our wiring; config-agent.ts). */
export const CONFIG_HASH_ANNOTATION = 'redis.github.com/config-hash';
export { SCRIPTS_HASH_ANNOTATION } from './sentinel';
/**
 * On the StatefulSet: SHA-256 of the rendered pod template. The reconciler compares it
 * with the desired one instead of deep-comparing a template the apiserver has defaulted.
 */
export const TEMPLATE_HASH_ANNOTATION = 'redis.github.com/template-hash';
import { INSTANCE_LABEL, MANAGED_BY, primaryServiceName, selectorLabels } from './names';
export { INSTANCE_LABEL, MANAGED_BY, primaryServiceName, selectorLabels };
export const CONTAINER_NAME = 'redis';
export const INIT_CONTAINER_NAME = 'config';
export { DATA_DIR, DATA_VOLUME, REDIS_UID } from './pod';


/**
 * Kubernetes recommended labels plus our own, on every object and pod we render;
 * `app.kubernetes.io/version` (the image tag) only where that version runs, the
 * StatefulSet and its pods (`withVersion`). On the ConfigMap, Services, PodDisruptionBudget
 * and the rest it would turn every image change into a label patch of each of them, and a
 * Service update that every kube-proxy and endpoints controller processes.
 */
export function instanceLabels(instance: ResolvedRedisInstance, withVersion = true): Record<string, string> {
  const version = withVersion ? imageTag(instance.spec.image) : undefined;
  return {
    ...selectorLabels(instance.name),
    'app.kubernetes.io/component': 'database',
    'app.kubernetes.io/managed-by': MANAGED_BY,
    ...(version ? { 'app.kubernetes.io/version': version } : {}),
    app: 'redis',
    [INSTANCE_LABEL]: instance.name,
  };
}

/** The tag of `repo/name:tag[@digest]`, when it is a valid label value. */
function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  const tag = colon < 0 ? undefined : withoutDigest.slice(colon + 1);
  return tag && tag.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(tag) ? tag : undefined;
}

/** Stable DNS name of pod 0 through the governing headless Service (any cluster domain). */
export function primaryHost(instance: ResolvedRedisInstance): string {
  return `${instance.name}-0.${instance.name}.${instance.namespace}.svc`;
}


/**
 * The init container's script: writes the runtime include of redis.conf. Pods other than
 * 0 replicate from pod 0; with auth, the password is read from the Secret volume's file
 * (REDIS_PASSWORD_FILE; exported as REDIS_PASSWORD for the scripts that run after it in
 * this container, never in a container's env), is escaped for redis.conf (`\` and `"` backslashed, each newline written as
 * `\n`, so Redis gets the Secret's exact bytes, trailing newlines included) and written
 * with shell built-ins only (sed reads it on stdin), so it never appears in a process
 * argument list.
 */
export const RUNTIME_CONFIG_SCRIPT = `set -eu
conf="\${RUNTIME_CONF:-${RUNTIME_CONFIG_FILE}}"
ordinal="\${POD_NAME##*-}"
if [ -n "\${REDIS_PASSWORD_FILE:-}" ]; then
  # The '.' keeps $(...) from dropping trailing newlines: they are part of the password.
  REDIS_PASSWORD=$(cat "$REDIS_PASSWORD_FILE"; printf .)
  REDIS_PASSWORD=\${REDIS_PASSWORD%.}
  export REDIS_PASSWORD
fi
{
  if [ "$ordinal" != "0" ]; then
    printf 'replicaof %s %s\\n' "$PRIMARY_HOST" "$PRIMARY_PORT"
  fi
  if [ -n "\${REDIS_PASSWORD+set}" ]; then
    if [ -z "$REDIS_PASSWORD" ]; then
      echo "redis-gitops: the password in the auth Secret is empty; refusing to start without one" >&2
      exit 1
    fi
    # The '.' keeps $(...) from dropping trailing newlines; each newline becomes \\n.
    rest=$(printf '%s.' "$REDIS_PASSWORD" | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g')
    rest=\${rest%.}
    nl='
'
    pw=
    while :; do
      case $rest in
        *"$nl"*) pw="$pw\${rest%%"$nl"*}\\\\n"; rest=\${rest#*"$nl"} ;;
        *) pw="$pw$rest"; break ;;
      esac
    done
    printf 'requirepass "%s"\\nmasterauth "%s"\\n' "$pw" "$pw"
  fi
} > "$conf.tmp"
mv "$conf.tmp" "$conf"
`;

/**
 * Appended to the init script when the rendered redis.conf has `appendonly yes`. Redis
 * with AOF on and no AOF on disk ignores the RDB file and starts empty (redis/redis#1826),
 * e.g. after a spec drops `appendonly: "no"`. So when the data volume holds the RDB file
 * and no AOF (neither `<appenddirname>/<appendfilename>.manifest` nor a pre-7.0
 * `<appendfilename>`), a temporary redis-server (no TCP port, a unix socket on the runtime
 * emptyDir, no password, nothing secret on its argument list) loads the RDB, turns AOF on,
 * waits for the AOF rewrite and shuts down, so the redis container starts from an AOF
 * that holds the data. Every wait is bounded by AOF_MIGRATION_TIMEOUT_SECONDS; any
 * failure exits non-zero with the reason on stderr (the RDB file is never touched).
 */
export const AOF_MIGRATION_SCRIPT = `data="$DATA_DIR"
if [ -f "$data/$RDB_FILENAME" ] && [ ! -e "$data/$AOF_DIRNAME/$AOF_FILENAME.manifest" ] && [ ! -e "$data/$AOF_FILENAME" ]; then
  printf '%s\\n' "redis-gitops: $data/$RDB_FILENAME and no AOF: writing the AOF from it before Redis starts with appendonly yes" >&2
  sock="\${conf%/*}/aof-migration.sock"
  limit="$AOF_MIGRATION_TIMEOUT_SECONDS"
  pid=
  fail() {
    printf '%s\\n' "redis-gitops: AOF migration failed: $*" >&2
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || :; fi
    exit 1
  }
  cli() { redis-cli -s "$sock" "$@" 2>&1 || :; }
  redis-server --appendonly no --port 0 --unixsocket "$sock" --dir "$data" --dbfilename "$RDB_FILENAME" \\
    --appenddirname "$AOF_DIRNAME" --appendfilename "$AOF_FILENAME" --save '' &
  pid=$!
  n=0
  until [ "$(cli ping)" = PONG ]; do
    kill -0 "$pid" 2>/dev/null || fail "redis-server exited while loading $RDB_FILENAME"
    [ "$n" -lt "$limit" ] || fail "redis-server did not load $RDB_FILENAME within $limit s"
    n=$((n + 1)); sleep 1
  done
  [ "$(cli config set appendonly yes)" = OK ] || fail "CONFIG SET appendonly yes was refused"
  has() { case $info in *"$1"*) return 0 ;; esac; return 1; }
  n=0
  while :; do
    info=$(cli info persistence)
    if has aof_enabled:1 && has aof_rewrite_in_progress:0 && has aof_rewrite_scheduled:0; then break; fi
    kill -0 "$pid" 2>/dev/null || fail "redis-server exited while writing the AOF"
    [ "$n" -lt "$limit" ] || fail "the AOF rewrite did not finish within $limit s"
    n=$((n + 1)); sleep 1
  done
  cli shutdown >/dev/null
  n=0
  while kill -0 "$pid" 2>/dev/null; do
    [ "$n" -lt "$limit" ] || fail "redis-server did not shut down within $limit s"
    n=$((n + 1)); sleep 1
  done
  status=0
  wait "$pid" || status=$?
  pid=
  [ "$status" -eq 0 ] || fail "redis-server exited with status $status"
  [ -f "$data/$AOF_DIRNAME/$AOF_FILENAME.manifest" ] || fail "no $AOF_DIRNAME/$AOF_FILENAME.manifest was written"
  printf '%s\\n' "redis-gitops: wrote $data/$AOF_DIRNAME from $RDB_FILENAME" >&2
fi
`;

/** Seconds each step of the AOF migration (load, rewrite, shutdown) may take before the init container fails. */
export const AOF_MIGRATION_TIMEOUT_SECONDS = 3600;

/** redis-cli against the local server (with TLS, over TLS); with auth it reads REDISCLI_AUTH from the env. */
function cli(tls: boolean): string {
  return `redis-cli ${tls ? `${TLS_CLI_FLAGS} ` : ''}-h 127.0.0.1 -p ${REDIS_PORT}`;
}
/**
 * With auth, a probe reads the password from the Secret volume into REDISCLI_AUTH inside its
 * own shell: redis-cli takes it from there, so it is in no container's env and no argv. The
 * file follows a rotation; the agent puts the new password in force within its interval.
 */
const PROBE_AUTH = '[ -z "${REDIS_PASSWORD_FILE:-}" ] || { pw=$(cat "$REDIS_PASSWORD_FILE"; printf .); export REDISCLI_AUTH="${pw%.}"; }; ';
/**
 * Ready: the server answers PONG (not LOADING, not an auth error, not refused) and is
 * either a primary or a replica whose link to its primary is up: a replica that lost its
 * primary still answers PONG but serves stale data (or none, before its first sync).
 */
export function readinessCommand(tls = false): string[] {
  return ['sh', '-c', `${PROBE_AUTH}cli() { ${cli(tls)} "$@"; }; cli ping | grep -q PONG && cli info replication | grep -Eq '^(role:master|master_link_status:up)'`];
}
/** Alive: the server answers at all, even while loading its dataset or waiting for the primary. */
export function livenessCommand(tls = false): string[] {
  return ['sh', '-c', `${PROBE_AUTH}${cli(tls)} ping | grep -Eq 'PONG|LOADING|MASTERDOWN'`];
}
/** The probes without TLS. */
export const READINESS_COMMAND = readinessCommand();
export const LIVENESS_COMMAND = livenessCommand();

const containerSecurityContext = REDIS_CONTAINER_SECURITY_CONTEXT;

/** Redis's own defaults for the files the AOF migration looks at. */
const REDIS_FILE_DEFAULTS = { dbfilename: 'dump.rdb', appenddirname: 'appendonlydir', appendfilename: 'appendonly.aof' } as const;

/**
 * The env of the AOF migration step (see AOF_MIGRATION_SCRIPT), from the merged config:
 * undefined when redis.conf does not turn AOF on, and the step is not rendered.
 */
export function aofMigrationEnv(config: Readonly<Record<string, string>>): V1EnvVar[] | undefined {
  const merged = mergedRedisConfig(config);
  // Read as Redis reads them (args.ts): `appendonly "yes "` and ` 'YES'` are yes too.
  const arg = (key: string) => {
    const value = singleConfArg(merged[key]);
    // Validation refuses these; guessing here could skip the migration and lose the RDB.
    if (value === undefined) throw new Error(`config.${key} is not one redis.conf argument: ${JSON.stringify(merged[key].slice(0, 80))}`);
    return value;
  };
  if (merged.appendonly === undefined || yesNo(arg('appendonly')) !== true) return undefined;
  const file = (key: keyof typeof REDIS_FILE_DEFAULTS) => (merged[key] === undefined ? REDIS_FILE_DEFAULTS[key] : arg(key));
  return [
    { name: 'DATA_DIR', value: arg('dir') },
    { name: 'RDB_FILENAME', value: file('dbfilename') },
    { name: 'AOF_DIRNAME', value: file('appenddirname') },
    { name: 'AOF_FILENAME', value: file('appendfilename') },
    { name: 'AOF_MIGRATION_TIMEOUT_SECONDS', value: String(AOF_MIGRATION_TIMEOUT_SECONDS) },
  ];
}

/** The init container's resources when it only writes the runtime include. */
const INIT_RESOURCES = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } };

function probe(command: string[], overrides: Partial<V1Probe>): V1Probe {
  return { exec: { command }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1, ...overrides };
}

/**
 * The redis.conf directives of an instance: maxmemory derived from the memory limit,
 * overridden by the user's `config`, then the TLS directives of spec.tls (which `config`
 * may not set; they replace the default `port 6379`).
 */
export function instanceRedisConfig(spec: ResolvedRedisInstance['spec']): Record<string, string> {
  return { ...derivedMemoryConfig(spec), ...spec.config, ...tlsRedisConfig(spec) };
}

/** The Service ports clients use: redis (TLS with spec.tls), and plain TCP during a migration to TLS. */
function clientServicePorts(instance: ResolvedRedisInstance): NonNullable<NonNullable<V1Service['spec']>['ports']> {
  return [
    { name: 'redis', port: REDIS_PORT, targetPort: 'redis', protocol: 'TCP' },
    ...(tlsOf(instance)?.allowPlaintext ? [{ name: PLAINTEXT_PORT_NAME, port: PLAINTEXT_PORT, targetPort: PLAINTEXT_PORT_NAME, protocol: 'TCP' }] : []),
  ];
}

/** The rendered redis.conf of an instance. */
export function instanceRedisConf(instance: ResolvedRedisInstance): string {
  return renderRedisConf(instanceRedisConfig(instance.spec));
}

/** Metadata shared by the children: the instance's own labels, then ours (ours win); the version label only on the StatefulSet. */
function childMetadata(instance: ResolvedRedisInstance, name = instance.name, withVersion = false) {
  return { name, namespace: instance.namespace, labels: { ...instance.labels, ...instanceLabels(instance, withVersion) } };
}

/** The whole redis.conf (a restarted pod starts with everything), the agent's live.conf and script, and the failover scripts. */
export function renderConfigMap(instance: ResolvedRedisInstance, redisConf = instanceRedisConf(instance)): V1ConfigMap {
  return {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: childMetadata(instance),
    data: {
      [CONFIG_FILE]: redisConf,
      ...configAgentData(instanceRedisConfig(instance.spec)),
      ...(instance.spec.failover ? sentinelConfigMapData(instance) : {}),
    },
  };
}

/** Sentinel's Service ports, with failover: TLS with spec.tls, and plain TCP besides during a migration to TLS. */
function sentinelServicePorts(instance: ResolvedRedisInstance): NonNullable<NonNullable<V1Service['spec']>['ports']> {
  if (!instance.spec.failover) return [];
  return [
    { name: 'sentinel', port: SENTINEL_PORT, targetPort: 'sentinel', protocol: 'TCP' },
    ...(tlsOf(instance)?.allowPlaintext
      ? [{ name: SENTINEL_PLAINTEXT_PORT_NAME, port: SENTINEL_PLAINTEXT_PORT, targetPort: SENTINEL_PLAINTEXT_PORT_NAME, protocol: 'TCP' }] : []),
  ];
}

/** The headless Service that governs the StatefulSet and gives each pod a DNS name. */
export function renderHeadlessService(instance: ResolvedRedisInstance): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(instance),
    spec: {
      clusterIP: 'None',
      selector: selectorLabels(instance.name),
      ports: [
        ...clientServicePorts(instance),
        ...sentinelServicePorts(instance),
        ...(metricsOf(instance) ? [{ name: METRICS_PORT_NAME, port: METRICS_PORT, targetPort: METRICS_PORT_NAME, protocol: 'TCP' }] : []),
      ],
      // With failover, pods find each other's Sentinels by pod DNS name before Redis is
      // ready (start-up asks them who the primary is): the names must resolve at once.
      ...(instance.spec.failover ? { publishNotReadyAddresses: true } : {}),
    },
  };
}

/**
 * The Service for writes: with failover, the pod the role agents label primary (it follows
 * a failover within seconds); without, pod 0, the fixed primary.
 */
export function renderPrimaryService(instance: ResolvedRedisInstance): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(instance, primaryServiceName(instance.name)),
    spec: {
      type: 'ClusterIP',
      selector: instance.spec.failover
        ? { ...selectorLabels(instance.name), [ROLE_LABEL]: 'primary' }
        : { ...selectorLabels(instance.name), 'statefulset.kubernetes.io/pod-name': `${instance.name}-0` },
      ports: clientServicePorts(instance),
    },
  };
}

/** At most one pod of a replicated instance down at a time through evictions. */
export function renderPodDisruptionBudget(instance: ResolvedRedisInstance): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMetadata(instance),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(instance.name) } },
  };
}

export function renderStatefulSet(instance: ResolvedRedisInstance): V1StatefulSet {
  const { name, spec } = instance;
  const labels = instanceLabels(instance);
  const tls = tlsOf(instance);
  const redis: V1Container = {
    name: CONTAINER_NAME,
    image: spec.image,
    command: ['redis-server', `${CONFIG_DIR}/${CONFIG_FILE}`],
    ports: [
      { name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' },
      ...(tls?.allowPlaintext ? [{ name: PLAINTEXT_PORT_NAME, containerPort: PLAINTEXT_PORT, protocol: 'TCP' }] : []),
    ],
    ...(spec.auth ? { env: passwordFileEnv(instance) } : {}),
    ...(spec.resources ? { resources: structuredClone(spec.resources) as V1Container['resources'] } : {}),
    readinessProbe: probe(readinessCommand(!!tls), { initialDelaySeconds: 5, periodSeconds: 5 }),
    livenessProbe: probe(livenessCommand(!!tls), { initialDelaySeconds: 15, failureThreshold: 6 }),
    securityContext: containerSecurityContext,
    volumeMounts: [
      { name: DATA_VOLUME, mountPath: DATA_DIR },
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'runtime', mountPath: RUNTIME_CONFIG_DIR, readOnly: true },
      ...(tls ? [structuredClone(TLS_VOLUME_MOUNT)] : []),
      ...authMounts(instance),
    ],
  };
  // With AOF on, the init container also converts an RDB-only data volume to AOF
  // (AOF_MIGRATION_SCRIPT): it needs the data volume and enough resources to load the
  // dataset. Init containers do not add to the pod's total (max(init, sum of containers)).
  const migration = aofMigrationEnv(instanceRedisConfig(spec));
  // With metrics and auth: the exporter's own ACL user and password file (render/metrics.ts).
  const exporterAuth = exporterAuthInit(instance, tls !== undefined);
  const init: V1Container = {
    name: INIT_CONTAINER_NAME,
    image: spec.image,
    command: ['sh', '-c', RUNTIME_CONFIG_SCRIPT + (exporterAuth ? EXPORTER_AUTH_SCRIPT : '') + (migration ? AOF_MIGRATION_SCRIPT : '')],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'PRIMARY_HOST', value: primaryHost(instance) },
      { name: 'PRIMARY_PORT', value: String(REDIS_PORT) },
      ...(migration ?? []),
      ...passwordFileEnv(instance),
      ...(exporterAuth?.env ?? []),
    ],
    // Without spec.resources the redis container has no limits; nor has the migration
    // (a 32Mi limit would OOM-kill it on any real dataset).
    resources: !migration ? structuredClone(INIT_RESOURCES)
      : spec.resources ? structuredClone(spec.resources) as V1Container['resources']
        : { requests: structuredClone(INIT_RESOURCES.requests) },
    securityContext: containerSecurityContext,
    volumeMounts: [
      { name: 'runtime', mountPath: RUNTIME_CONFIG_DIR },
      ...(migration ? [{ name: DATA_VOLUME, mountPath: DATA_DIR }] : []),
      ...authMounts(instance),
      ...(exporterAuth?.volumeMounts ?? []),
    ],
  };
  const failover = spec.failover ? sentinelPodParts(instance) : undefined;
  if (failover) {
    init.env = uniqueEnv([...init.env!, ...failover.initEnv]);
    init.volumeMounts = [...init.volumeMounts!, ...failover.initVolumeMounts];
    redis.volumeMounts = [...redis.volumeMounts!, ...failover.redisVolumeMounts];
    if (Object.keys(failover.redisLifecycle).length > 0) redis.lifecycle = failover.redisLifecycle;
  }
  const scripts = spec.failover ? sentinelConfigMapData(instance) : undefined;
  const scheduling = schedulingOf(instance);
  const template: V1PodTemplateSpec = {
    metadata: {
      labels,
      annotations: {
        [CONFIG_HASH_ANNOTATION]: podConfigHash(instanceRedisConfig(spec)),
        ...(scripts ? { [SCRIPTS_HASH_ANNOTATION]: scriptsHash(scripts) } : {}),
      },
    },
    spec: {
      ...(spec.podAgent ? { serviceAccountName: roleAgentName(name) } : {}),
      // Only the role agent gets a token, through its own projected volume.
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // With failover: the preStop hook's bounded failover, then Redis's own shutdown.
      terminationGracePeriodSeconds: failover ? TERMINATION_GRACE_PERIOD_SECONDS : 30,
      ...scheduling,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: REDIS_UID,
        runAsGroup: REDIS_UID,
        fsGroup: REDIS_UID,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      initContainers: [init, ...(failover ? failover.initContainers.map(restricted) : [])],
      containers: [
        redis,
        ...(failover ? failover.containers.map(restricted) : []),
        ...(spec.podAgent ? [roleAgentContainer(instance)] : []),
        configAgentContainer(instance, containerSecurityContext),
        ...optionalList(renderExporterContainer(instance, containerSecurityContext, tls ? {
          caFile: TLS_CA_FILE, certFile: TLS_CERT_FILE, keyFile: TLS_KEY_FILE, volumeMount: TLS_VOLUME_MOUNT,
        } : undefined)),
      ],
      volumes: [
        { name: 'config', configMap: { name } },
        { name: 'runtime', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
        ...authVolumes(instance),
        ...(failover ? failover.volumes : []),
        ...(spec.podAgent ? roleAgentVolumes(instance) : []),
        ...exporterAuthVolumes(instance),
        ...optionalList(tlsVolume(instance)),
      ],
    },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { ...childMetadata(instance, name, true), annotations: { [TEMPLATE_HASH_ANNOTATION]: podTemplateHash(template) } },
    spec: {
      serviceName: name,
      replicas: spec.replicas,
      // With failover every pod starts at once, so after a full restart the pods can elect
      // the one with the most data instead of waiting for pod 0 (which may be the empty one).
      podManagementPolicy: spec.failover ? 'Parallel' : 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate' },
      // Data outlives the StatefulSet: recreating or scaling it never deletes claims.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      selector: { matchLabels: selectorLabels(name) },
      template,
      // apiVersion and kind as the apiserver returns them, so Argo CD's diff of the template
      // is empty (argoproj/argo-cd#11143); the reconciler compares neither.
      volumeClaimTemplates: [{
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: DATA_VOLUME, labels: selectorLabels(name) },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(spec.storage.storageClassName ? { storageClassName: spec.storage.storageClassName } : {}),
          resources: { requests: { storage: spec.storage.size } },
        },
      }],
    },
  };
}

/** Env vars by name, the first of each name kept (Kubernetes would let a later one win silently). */
function uniqueEnv(env: V1EnvVar[]): V1EnvVar[] {
  const seen = new Set<string>();
  return env.filter((e) => !seen.has(e.name) && seen.add(e.name) !== undefined);
}

/** Restricted Pod Security on a container from another module, whatever it asked for. */
function restricted(container: V1Container): V1Container {
  return { ...container, securityContext: { ...containerSecurityContext, ...container.securityContext, ...RESTRICTED } };
}
const RESTRICTED: V1SecurityContext = {
  allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * Where the pods may run. By default preferred (never required) pod anti-affinity by node
 * and a ScheduleAnyway spread over zones, so failover has somewhere to go and a one-node
 * cluster still runs the pods. A single pod gets them too (they cost it nothing), so that
 * scaling never changes the pod template and never restarts the running pods.
 * spec.affinity and spec.topologySpreadConstraints replace the defaults (`{}` and `[]` turn
 * them off). A user's spread constraint without a labelSelector gets the instance's pod
 * selector (it would count no pods otherwise).
 */
export function schedulingOf(instance: ResolvedRedisInstance): { affinity?: V1Affinity; topologySpreadConstraints?: V1TopologySpreadConstraint[] } {
  const { spec, name } = instance;
  const selector = { matchLabels: selectorLabels(name) };
  const affinity: V1Affinity | undefined = spec.affinity !== undefined
    ? (Object.keys(spec.affinity).length > 0 ? structuredClone(spec.affinity) as V1Affinity : undefined)
    : {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 100,
          podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: selector },
        }],
      },
    };
  const spread: V1TopologySpreadConstraint[] | undefined = spec.topologySpreadConstraints !== undefined
    ? spec.topologySpreadConstraints.map((c) => ({ labelSelector: selector, ...structuredClone(c) }) as V1TopologySpreadConstraint)
    : [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: selector }];
  return {
    ...(affinity ? { affinity } : {}),
    ...(spread && spread.length > 0 ? { topologySpreadConstraints: spread } : {}),
  };
}

/** The role agents' ServiceAccount (no token automounted: only the agent container mounts one). */
export function renderServiceAccount(instance: ResolvedRedisInstance): V1ServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: childMetadata(instance, roleAgentName(instance.name)), automountServiceAccountToken: false };
}

/** get and patch on the instance's own pods, by name. */
export function renderRole(instance: ResolvedRedisInstance): V1Role {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: childMetadata(instance, roleAgentName(instance.name)), rules: roleAgentRules(instance) };
}

export function renderRoleBinding(instance: ResolvedRedisInstance): V1RoleBinding {
  const agent = roleAgentName(instance.name);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: childMetadata(instance, agent),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: agent },
    subjects: [{ kind: 'ServiceAccount', name: agent, namespace: instance.namespace }],
  };
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return canonical(value) as string;
}

/**
 * JSON.stringify with sorted keys, written out: what JSON.stringify gives for the same
 * value (toJSON, undefined and functions skipped in objects and null in arrays), without a
 * sorted copy of every object (the pod template is hashed for every instance of a pass).
 * Keys and strings that need no escaping are quoted directly.
 */
function canonical(value: unknown): string | undefined {
  if (typeof value === 'string') return quote(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const v = value as Record<string, unknown> & { toJSON?: () => unknown };
  if (typeof v.toJSON === 'function') return canonical(v.toJSON());
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += `${i ? ',' : ''}${canonical(v[i]) ?? 'null'}`;
    return `${out}]`;
  }
  let out = '';
  for (const key of sortedKeys(v)) {
    const text = canonical(v[key]);
    if (text !== undefined) out += `${out ? ',' : ''}${quote(key)}:${text}`;
  }
  return `{${out}}`;
}

/** Printable ASCII without `"` and `\\`: JSON quotes it as it is. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const quote = (text: string) => (PLAIN.test(text) ? `"${text}"` : JSON.stringify(text));

const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;
const isIndex = (key: string) => ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1;
const startsWithDigit = (key: string) => { const c = key.charCodeAt(0); return c >= 48 && c <= 57; };

/** Sorted keys in the order an object built from them lists them: array-index keys first, by value. */
function sortedKeys(object: object): string[] {
  const keys = Object.keys(object);
  if (keys.length > 1) keys.sort();
  if (!keys.some(startsWithDigit) || !keys.some(isIndex)) return keys;
  return [...keys.filter(isIndex).sort((a, b) => Number(a) - Number(b)), ...keys.filter((k) => !isIndex(k))];
}

/** Hex SHA-256 of a pod template's canonical JSON. */
export function podTemplateHash(template: V1PodTemplateSpec): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex');
}

/**
 * The children one instance needs, in apply order. The RedisInstance object itself is the
 * construct's (src/constructs/redis-instance.ts): only synth writes it.
 */
export interface RenderedInstance {
  readonly configMap: V1ConfigMap;
  readonly service: V1Service;
  readonly primaryService?: V1Service;
  /** The pod agents' ServiceAccount, Role and RoleBinding (spec.podAgent: on with failover). */
  readonly serviceAccount?: V1ServiceAccount;
  readonly role?: V1Role;
  readonly roleBinding?: V1RoleBinding;
  readonly statefulSet: V1StatefulSet;
  readonly podDisruptionBudget?: V1PodDisruptionBudget;
  /** spec.networkPolicy.enabled (the default) only. */
  readonly networkPolicy?: NetworkPolicy;
  /** With spec.metrics. */
  readonly podMonitor?: PodMonitor;
  /** With spec.metrics (alerts enabled, the default). */
  readonly prometheusRule?: PrometheusRule;
  /** With spec.tls.issuerRef: cert-manager writes the TLS Secret. */
  readonly certificate?: Certificate;
}

export function renderInstance(instance: ResolvedRedisInstance): RenderedInstance {
  const redisConf = instanceRedisConf(instance);
  const replicated = instance.spec.replicas > 1;
  return {
    configMap: renderConfigMap(instance, redisConf),
    service: renderHeadlessService(instance),
    ...(replicated ? { primaryService: renderPrimaryService(instance) } : {}),
    ...(instance.spec.podAgent ? {
      serviceAccount: renderServiceAccount(instance), role: renderRole(instance), roleBinding: renderRoleBinding(instance),
    } : {}),
    statefulSet: renderStatefulSet(instance),
    ...(replicated ? { podDisruptionBudget: renderPodDisruptionBudget(instance) } : {}),
    ...optional('networkPolicy', renderNetworkPolicy(instance, selectorLabels(instance.name), childMetadata(instance).labels, {
      ...(metricsOf(instance) ? { metricsPort: METRICS_PORT } : {}),
      ...(tlsOf(instance)?.allowPlaintext ? { extraClientPorts: [PLAINTEXT_PORT] } : {}),
      ...(instance.spec.failover ? { sentinelPorts: sentinelServicePorts(instance).map((p) => p.port), kubernetesApi: true } : {}),
    })),
    ...optional('podMonitor', renderPodMonitor(instance, selectorLabels(instance.name), childMetadata(instance).labels, INSTANCE_LABEL)),
    ...optional('prometheusRule', renderPrometheusRule(instance, childMetadata(instance).labels)),
    ...optional('certificate', renderCertificate(instance, childMetadata(instance).labels, primaryServiceName(instance.name))),
  };
}

/** `{ [key]: value }`, or nothing when value is undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
}

/** `[value]`, or nothing when value is undefined. */
function optionalList<V>(value: V | undefined): V[] {
  return value === undefined ? [] : [value];
}

