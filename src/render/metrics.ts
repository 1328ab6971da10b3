import type { V1Container, V1EnvVar, V1ObjectMeta, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ResolvedRedisInstance } from '../api/types';
import { isQuantity, parseQuantity } from '../api/quantity';
import { REDIS_PORT } from '../redis-conf/render';

/**
 * Prometheus metrics for an instance (spec.metrics): a redis_exporter sidecar in each
 * pod, a PodMonitor that scrapes it and a PrometheusRule with the alerts a Redis owner
 * needs. Pure builders; the alerts are data (ALERTS), so reading the list is reading the
 * policy, and the tests check every expression against a real exporter's metrics.
 */

export const METRICS_PORT = 9121;
export const METRICS_PORT_NAME = 'metrics';
export const EXPORTER_CONTAINER_NAME = 'metrics';
/** The exporter binary in the oliver006/redis_exporter images (its entrypoint). */
export const EXPORTER_COMMAND = '/redis_exporter';
/**
 * The pod label the PodMonitor copies onto every series (podTargetLabels): Prometheus
 * sanitises `redis.github.com/instance` to `redis_github_com_instance`.
 */
export const INSTANCE_SERIES_LABEL = 'redis_github_com_instance';

/** spec.metrics, resolved, when it is on. */
export function metricsOf(instance: ResolvedRedisInstance) {
  const metrics = instance.spec.metrics;
  return metrics?.enabled ? metrics : undefined;
}

/** How the exporter reaches Redis over TLS (see render/tls.ts), when TLS is on. */
export interface ExporterTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly volumeMount: V1VolumeMount;
}

/**
 * With spec.auth the exporter does not use the instance's password (docs/live-changes.md,
 * "The metrics exporter"): redis_exporter 1.45 reads its password (env or
 * `-redis.password-file`) once, at start, so after a live rotation and its grace period it
 * could no longer log in. Instead each pod's init container makes a password of the pod's
 * own (random, never in the Secret, never rotated while the pod lives) for an ACL user that
 * may run only the commands the exporter needs, writes it into redis.conf's runtime include
 * and, as the exporter's password file, into a memory-backed emptyDir only the init
 * container (read-write) and the exporter (read-only) mount, mode 0440.
 */
export const EXPORTER_USER = 'redis-gitops-exporter';
/**
 * What that user may run: what redis_exporter 1.45 sends for the metrics the alerts use
 * (found with the real exporter and ACL LOG). Not CONFIG GET: it would show requirepass, so
 * the exporter runs with REDIS_EXPORTER_CONFIG_COMMAND=- (no redis_config_* series).
 */
export const EXPORTER_ACL_RULES = 'resetchannels -@all +info +ping +client|setname +slowlog|get +slowlog|len +latency|latest';
export const EXPORTER_AUTH_VOLUME = 'exporter-auth';
export const EXPORTER_AUTH_DIR = '/run/redis-exporter';
export const EXPORTER_PASSWORD_FILE = `${EXPORTER_AUTH_DIR}/password.json`;

/** The exporter's own ACL user and password file are used (spec.metrics with spec.auth). */
export function exporterAuthOf(instance: ResolvedRedisInstance): boolean {
  return metricsOf(instance) !== undefined && instance.spec.auth !== undefined;
}

/** The address the exporter scrapes (the key of its password file). */
export function exporterRedisAddr(tls: boolean): string {
  // localhost: the name a TLS certificate for the pod carries (the Certificate we render does).
  return `${tls ? 'rediss' : 'redis'}://localhost:${REDIS_PORT}`;
}

/**
 * Appended to the init container's script (after the runtime include is written) when
 * exporterAuthOf: 24 random bytes as hex (od and tr are in the Debian and Alpine images),
 * written with shell built-ins only (printf), so the password is in no argument list.
 */
export const EXPORTER_AUTH_SCRIPT = `epw=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \\n')
[ \${#epw} -eq 48 ] || { echo "redis-gitops: could not make the exporter's password" >&2; exit 1; }
( umask 0227; printf '{"%s":"%s"}' "$EXPORTER_REDIS_ADDR" "$epw" > "$EXPORTER_PASSWORD_FILE.tmp" )
mv -f "$EXPORTER_PASSWORD_FILE.tmp" "$EXPORTER_PASSWORD_FILE"
printf 'user %s on >%s %s\\n' "$EXPORTER_USER" "$epw" "$EXPORTER_ACL_RULES" >> "$conf"
unset epw
`;

/** The init container's env and mount for EXPORTER_AUTH_SCRIPT. */
export function exporterAuthInit(instance: ResolvedRedisInstance, tls: boolean): { env: V1EnvVar[]; volumeMounts: V1VolumeMount[] } | undefined {
  if (!exporterAuthOf(instance)) return undefined;
  return {
    env: [
      { name: 'EXPORTER_REDIS_ADDR', value: exporterRedisAddr(tls) },
      { name: 'EXPORTER_PASSWORD_FILE', value: EXPORTER_PASSWORD_FILE },
      { name: 'EXPORTER_USER', value: EXPORTER_USER },
      { name: 'EXPORTER_ACL_RULES', value: EXPORTER_ACL_RULES },
    ],
    volumeMounts: [{ name: EXPORTER_AUTH_VOLUME, mountPath: EXPORTER_AUTH_DIR }],
  };
}

/** The exporter's password volume (tmpfs), when exporterAuthOf. */
export function exporterAuthVolumes(instance: ResolvedRedisInstance): V1Volume[] {
  return exporterAuthOf(instance) ? [{ name: EXPORTER_AUTH_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }] : [];
}

/**
 * The sidecar. Everything is configured through env vars (redis_exporter reads each flag
 * from one): with auth, its own ACL user and the password file (above), so it is never on
 * an argument list nor in a ConfigMap. No readiness probe: a pod's readiness is that of
 * all its containers, and an exporter in trouble must not take Redis out of its Service.
 */
export function renderExporterContainer(
  instance: ResolvedRedisInstance, securityContext: V1SecurityContext, tls?: ExporterTls,
): V1Container | undefined {
  const metrics = metricsOf(instance);
  if (!metrics) return undefined;
  const auth = exporterAuthOf(instance);
  const env: V1EnvVar[] = [
    { name: 'REDIS_ADDR', value: exporterRedisAddr(tls !== undefined) },
    { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: `:${METRICS_PORT}` },
    ...(tls ? [
      { name: 'REDIS_EXPORTER_TLS_CA_CERT_FILE', value: tls.caFile },
      { name: 'REDIS_EXPORTER_TLS_CLIENT_CERT_FILE', value: tls.certFile },
      { name: 'REDIS_EXPORTER_TLS_CLIENT_KEY_FILE', value: tls.keyFile },
    ] : []),
    ...(auth ? [
      { name: 'REDIS_USER', value: EXPORTER_USER },
      { name: 'REDIS_PASSWORD_FILE', value: EXPORTER_PASSWORD_FILE },
      { name: 'REDIS_EXPORTER_CONFIG_COMMAND', value: '-' },
    ] : []),
  ];
  const volumeMounts: V1VolumeMount[] = [
    ...(tls ? [structuredClone(tls.volumeMount)] : []),
    ...(auth ? [{ name: EXPORTER_AUTH_VOLUME, mountPath: EXPORTER_AUTH_DIR, readOnly: true }] : []),
  ];
  return {
    name: EXPORTER_CONTAINER_NAME,
    image: metrics.image,
    command: [EXPORTER_COMMAND],
    env,
    ports: [{ name: METRICS_PORT_NAME, containerPort: METRICS_PORT, protocol: 'TCP' }],
    resources: structuredClone(metrics.resources) as V1Container['resources'],
    livenessProbe: {
      httpGet: { path: '/health', port: METRICS_PORT_NAME },
      initialDelaySeconds: 10, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1,
    },
    securityContext: structuredClone(securityContext),
    ...(volumeMounts.length > 0 ? { volumeMounts } : {}),
  };
}

/** monitoring.coreos.com/v1 PodMonitor, as JSON. */
export interface PodMonitor {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PodMonitor';
  metadata: V1ObjectMeta;
  spec: {
    selector: { matchLabels: Record<string, string> };
    podMetricsEndpoints: Array<{ port: string; path: string; interval: string; scrapeTimeout?: string }>;
    podTargetLabels: string[];
  };
}

/**
 * A PodMonitor rather than a ServiceMonitor: it finds the pods by their labels, so every
 * pod is scraped whatever its readiness (a replica whose link is down is not ready, and
 * is exactly the pod the replication alerts are about) and whatever the Services do, and
 * the series carry the pod's name directly. See docs/decisions.md.
 */
export function renderPodMonitor(
  instance: ResolvedRedisInstance, selector: Record<string, string>, labels: Record<string, string>, instanceLabel: string,
): PodMonitor | undefined {
  const metrics = metricsOf(instance);
  if (!metrics) return undefined;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: { name: instance.name, namespace: instance.namespace, labels: { ...labels, ...metrics.labels } },
    spec: {
      selector: { matchLabels: { ...selector } },
      podMetricsEndpoints: [{ port: METRICS_PORT_NAME, path: '/metrics', interval: metrics.interval }],
      podTargetLabels: [instanceLabel],
    },
  };
}

type Thresholds = NonNullable<ResolvedRedisInstance['spec']['metrics']>['alerts'];

/** One alert, as data: what it watches, when it applies, how bad it is. */
export interface AlertDefinition {
  readonly alert: string;
  /** PromQL, given the series selector of the instance (`namespace="…",redis_github_com_instance="…"`). */
  readonly expr: (s: string, t: Thresholds) => string;
  readonly for: string;
  readonly severity: 'critical' | 'warning';
  /** Only for replicated instances (replicas > 1). */
  readonly replicated?: boolean;
  /** Annotations; `instance` is `namespace/name` (rule labels are not in `$labels` of templates). */
  readonly summary: (instance: string) => string;
  readonly description: string;
}

/**
 * The alerts, in the order of the PrometheusRule. Metric names are those of
 * redis_exporter (1.45 and later); `up` is the series Prometheus writes for each target.
 */
export const ALERTS: readonly AlertDefinition[] = [
  {
    alert: 'RedisDown',
    expr: (s) => `redis_up{${s}} == 0 or up{${s}} == 0`,
    for: '1m',
    severity: 'critical',
    summary: () => 'Redis {{ $labels.pod }} is down',
    description: 'The exporter in {{ $labels.namespace }}/{{ $labels.pod }} cannot reach Redis, or cannot be scraped, for 1 minute.',
  },
  {
    alert: 'RedisMemoryNearMaxmemory',
    expr: (s, t) => `redis_memory_used_bytes{${s}} / (redis_memory_max_bytes{${s}} > 0) * 100 > ${t.memoryUsedPercent}`,
    for: '5m',
    severity: 'warning',
    summary: () => 'Redis {{ $labels.pod }} uses {{ $value | humanize }}% of maxmemory',
    description: 'Used memory is above the threshold of maxmemory; Redis will soon evict keys or refuse writes (maxmemory-policy).',
  },
  {
    alert: 'RedisKeysEvicted',
    expr: (s, t) => `rate(redis_evicted_keys_total{${s}}[5m]) > ${t.evictedKeysPerSecond}`,
    for: '5m',
    severity: 'warning',
    summary: () => 'Redis {{ $labels.pod }} evicts {{ $value | humanize }} keys/s',
    description: 'Redis reached maxmemory and evicts keys. Raise the memory limit, or the threshold if this cache evicts by design.',
  },
  {
    alert: 'RedisReplicationLinkDown',
    expr: (s) => `redis_master_link_up{${s}} == 0`,
    for: '1m',
    severity: 'critical',
    replicated: true,
    summary: () => 'Replica {{ $labels.pod }} lost its primary',
    description: 'The replica has no replication link to its primary and serves stale data (it is not ready, so it left the read Service).',
  },
  {
    alert: 'RedisReplicationLag',
    expr: (s, t) => `redis_connected_slave_lag_seconds{${s}} > ${t.replicationLagSeconds}`,
    for: '5m',
    severity: 'warning',
    replicated: true,
    summary: () => 'Replica {{ $labels.slave_ip }} of {{ $labels.pod }} lags {{ $value }} s',
    description: 'A replica has not acknowledged the replication stream for longer than the threshold.',
  },
  {
    alert: 'RedisNoPrimary',
    expr: (s) => `(count(redis_instance_info{${s},role="master"}) or vector(0)) == 0`,
    for: '1m',
    severity: 'critical',
    replicated: true,
    summary: (instance) => `Redis ${instance} has no primary`,
    description: 'No pod of the instance reports role master: writes fail.',
  },
  {
    alert: 'RedisMultiplePrimaries',
    expr: (s) => `count(redis_instance_info{${s},role="master"}) > 1`,
    for: '1m',
    severity: 'critical',
    replicated: true,
    summary: (instance) => `Redis ${instance} has {{ $value }} primaries`,
    description: 'More than one pod reports role master (split brain): writes to all but one will be lost.',
  },
  {
    alert: 'RedisPersistenceWriteError',
    expr: (s) => `redis_rdb_last_bgsave_status{${s}} == 0 or redis_aof_last_write_status{${s}} == 0 or redis_aof_last_bgrewrite_status{${s}} == 0`,
    for: '1m',
    severity: 'critical',
    summary: () => 'Redis {{ $labels.pod }} cannot write its RDB or AOF',
    description: 'The last RDB save, AOF write or AOF rewrite failed (disk full, volume read-only?). With stop-writes-on-bgsave-error Redis refuses writes.',
  },
  {
    alert: 'RedisRejectedConnections',
    expr: (s, t) => `rate(redis_rejected_connections_total{${s}}[5m]) > ${t.rejectedConnectionsPerSecond}`,
    for: '5m',
    severity: 'warning',
    summary: () => 'Redis {{ $labels.pod }} rejects {{ $value | humanize }} connections/s',
    description: 'Clients are refused because maxclients is reached.',
  },
];

/** monitoring.coreos.com/v1 PrometheusRule, as JSON. */
export interface PrometheusRule {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PrometheusRule';
  metadata: V1ObjectMeta;
  spec: {
    groups: Array<{
      name: string;
      rules: Array<{ alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }>;
    }>;
  };
}

export function renderPrometheusRule(instance: ResolvedRedisInstance, labels: Record<string, string>): PrometheusRule | undefined {
  const metrics = metricsOf(instance);
  if (!metrics?.alerts.enabled) return undefined;
  const ids = { namespace: instance.namespace, [INSTANCE_SERIES_LABEL]: instance.name };
  const selector = Object.entries(ids).map(([k, v]) => `${k}="${v}"`).join(',');
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: instance.name, namespace: instance.namespace, labels: { ...labels, ...metrics.labels } },
    spec: {
      groups: [{
        name: `redis.${instance.namespace}.${instance.name}`,
        rules: ALERTS.filter((a) => !a.replicated || instance.spec.replicas > 1).map((a) => ({
          alert: a.alert,
          expr: a.expr(selector, metrics.alerts),
          for: a.for,
          // The instance's labels on every alert, also those whose expression aggregates them away.
          labels: { severity: a.severity, ...ids },
          annotations: { summary: a.summary(`${instance.namespace}/${instance.name}`), description: a.description },
        })),
      }],
    },
  };
}

/** What the apiserver would refuse in the sidecar's resources: a request above its limit, a negative amount. */
export function metricsIssues(spec: any): Array<{ path: ReadonlyArray<string>; message: string }> {
  const resources = spec?.metrics?.resources;
  const out: Array<{ path: ReadonlyArray<string>; message: string }> = [];
  for (const kind of ['limits', 'requests'] as const) {
    for (const [name, value] of Object.entries<any>(resources?.[kind] ?? {})) {
      if (isQuantity(value) && (parseQuantity(value) ?? 0n) < 0n) {
        out.push({ path: ['spec', 'metrics', 'resources', kind, name], message: `must not be negative, got ${JSON.stringify(value)}` });
      }
    }
  }
  for (const [name, request] of Object.entries<any>(resources?.requests ?? {})) {
    const limit = resources?.limits?.[name];
    if (limit !== undefined && isQuantity(limit) && isQuantity(request) && (parseQuantity(request) ?? 0n) > (parseQuantity(limit) ?? 0n)) {
      out.push({ path: ['spec', 'metrics', 'resources', 'requests', name], message: `must be less than or equal to the ${name} limit (${limit}), got ${JSON.stringify(request)}` });
    }
  }
  return out;
}
