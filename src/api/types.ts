/**
 * The RedisInstance API as plain JSON types, the shape found in YAML files and in the
 * cluster. `imports/redis.github.com.ts` (generated from the CRD) holds the cdk8s L1
 * class; these types describe the same schema for code that reads and writes JSON.
 */

export const API_GROUP = 'redis.github.com';
export const API_VERSION = 'redis.github.com/v1';
export const KIND = 'RedisInstance';
export const PLURAL = 'redisinstances';

/** A Kubernetes quantity: `1Gi`, `500m`, `2`. */
export type Quantity = string | number;

/** Kubernetes ResourceRequirements (limits and requests). */
export interface ResourceRequirements {
  readonly limits?: Readonly<Record<string, Quantity>>;
  readonly requests?: Readonly<Record<string, Quantity>>;
}

export interface RedisStorageSpec {
  /**
   * Size of each pod's claim.
   * @default '1Gi'
   */
  readonly size?: string;
  /**
   * StorageClass of the claims.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
}

export interface RedisAuthSpec {
  /** Name of the Secret, in the instance's namespace, that holds the password. */
  readonly secretName: string;
  /**
   * Key of the password within the Secret.
   * @default 'password'
   */
  readonly secretKey?: string;
  /**
   * After the password in the Secret changes, how long (0..86400 s) each pod still accepts
   * the old password next to the new one; no pod restarts (docs/live-changes.md).
   * @default 300
   */
  readonly rotationGracePeriodSeconds?: number;
}

/** A Kubernetes metav1.LabelSelector. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: ReadonlyArray<{
    readonly key: string;
    readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    readonly values?: readonly string[];
  }>;
}

/** A NetworkPolicy peer: namespaces, pods, or pods in namespaces. */
export interface NetworkPolicyPeer {
  readonly namespaceSelector?: LabelSelector;
  readonly podSelector?: LabelSelector;
}

export interface RedisNetworkPolicySpec {
  /**
   * Render the NetworkPolicy.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * More clients allowed to connect, besides the instance's own pods and the pods of its
   * namespace labelled `redis.github.com/client-<name>: "true"`.
   * @default - none
   */
  readonly from?: readonly NetworkPolicyPeer[];
  /**
   * The namespace allowed to scrape the metrics port (with spec.metrics).
   * @default 'monitoring'
   */
  readonly metricsNamespace?: string;
  /**
   * Allow egress only to the instance's own pods and DNS.
   * @default false
   */
  readonly restrictEgress?: boolean;
}

/** Thresholds of the PrometheusRule's alerts. */
export interface RedisAlertsSpec {
  /**
   * Render the PrometheusRule.
   * @default true
   */
  readonly enabled?: boolean;
  /** Used memory above this percentage of maxmemory. @default 90 */
  readonly memoryUsedPercent?: number;
  /** A replica's lag above this many seconds. @default 30 */
  readonly replicationLagSeconds?: number;
  /** Evicted keys per second (5-minute average) above this. @default 0 */
  readonly evictedKeysPerSecond?: number;
  /** Rejected connections per second (5-minute average) above this. @default 0 */
  readonly rejectedConnectionsPerSecond?: number;
}

export interface RedisMetricsSpec {
  /**
   * Render the exporter, PodMonitor and PrometheusRule (the block's presence turns metrics on).
   * @default true
   */
  readonly enabled?: boolean;
  /** @default 'oliver006/redis_exporter:v1.45.0' */
  readonly image?: string;
  /** @default - requests cpu 10m, memory 32Mi; limits memory 64Mi */
  readonly resources?: ResourceRequirements;
  /**
   * Labels for the PodMonitor and the PrometheusRule (for the Prometheus' selectors).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /** @default '30s' */
  readonly interval?: string;
  /** @default - every alert, with the default thresholds */
  readonly alerts?: RedisAlertsSpec;
}

export interface RedisTlsSpec {
  /**
   * Serve TLS (the block's presence turns it on).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * The kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt.
   * @default - `<name>-tls` with issuerRef (the Certificate writes it); required otherwise
   */
  readonly secretName?: string;
  /**
   * cert-manager issuer: a Certificate for the instance's DNS names is rendered.
   * @default - no Certificate (secretName must exist)
   */
  readonly issuerRef?: { readonly name: string; readonly kind?: 'Issuer' | 'ClusterIssuer'; readonly group?: string };
  /**
   * Require client certificates signed by ca.crt.
   * @default false
   */
  readonly authClients?: boolean;
  /**
   * Also serve plain TCP on port 6380 (and, with failover, Sentinel on 26380) while clients move to TLS.
   * @default false
   */
  readonly allowPlaintext?: boolean;
}

/** `spec` of a RedisInstance, as written by a user. */
export interface RedisInstanceSpec {
  /** Container image with redis-server, redis-cli and sh, e.g. `redis:7.2.4-alpine`. */
  readonly image: string;
  /**
   * Number of pods. With failover sentinel, Sentinel elects the primary among them;
   * otherwise pod 0 is the primary and the others replicate from it.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Compute resources of the redis container.
   * @default - none
   */
  readonly resources?: ResourceRequirements;
  /**
   * Persistent storage behind /data.
   * @default - { size: '1Gi' } on the default StorageClass
   */
  readonly storage?: RedisStorageSpec;
  /**
   * redis.conf directives; they override the defaults.
   * @default - the defaults only (see DEFAULT_REDIS_CONFIG)
   */
  readonly config?: Readonly<Record<string, string>>;
  /**
   * Password authentication from a Secret.
   * @default - no password
   */
  readonly auth?: RedisAuthSpec;
  /**
   * Who may connect: a NetworkPolicy for the pods.
   * @default - enabled: clients need the label `redis.github.com/client-<name>: "true"`
   */
  readonly networkPolicy?: RedisNetworkPolicySpec;
  /**
   * Prometheus metrics (redis_exporter sidecar, PodMonitor, PrometheusRule).
   * @default - no metrics
   */
  readonly metrics?: RedisMetricsSpec;
  /**
   * TLS for clients, replication, probes, the exporter and (with failover) Sentinel and the pod scripts.
   * @default - plain TCP
   */
  readonly tls?: RedisTlsSpec;
  /**
   * Automatic failover: `sentinel` runs Redis Sentinel in every pod (needs replicas >= 3);
   * `none` keeps pod 0 as the primary.
   * @default - 'sentinel' with replicas >= 3, else 'none'
   */
  readonly failover?: FailoverMode;
  /**
   * Sentinel settings; only with failover sentinel.
   * @default - { downAfterMilliseconds: 5000, failoverTimeoutMilliseconds: 60000 }
   */
  readonly sentinel?: RedisSentinelSpec;
  /**
   * Run the pod agent (`redis-gitops role-agent`, one container per pod with RBAC limited to
   * the instance's own pods). With failover it keeps the role labels and is required; it
   * also publishes each pod's live-config status as the pod annotation
   * `redis.github.com/config-status`, from which the reconciler derives the ConfigApplied
   * condition. `true` without failover runs it for that status only (about 100 MiB per pod).
   * @default - true with failover sentinel, else false
   */
  readonly podAgent?: boolean;
  /**
   * Pod affinity; replaces the default. `{}` means none.
   * @default - replicated instances: preferred pod anti-affinity by kubernetes.io/hostname
   */
  readonly affinity?: Readonly<Record<string, unknown>>;
  /**
   * Topology spread constraints; replace the default. `[]` means none.
   * @default - replicated instances: maxSkew 1 over topology.kubernetes.io/zone, ScheduleAnyway
   */
  readonly topologySpreadConstraints?: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

export type FailoverMode = 'sentinel' | 'none';

export interface RedisSentinelSpec {
  /**
   * How long the primary must be unreachable before Sentinel considers it down, 1000..600000.
   * @default 5000
   */
  readonly downAfterMilliseconds?: number;
  /**
   * Sentinel's failover-timeout, 5000..3600000.
   * @default 60000
   */
  readonly failoverTimeoutMilliseconds?: number;
}

/** Sentinel failover with every default resolved; absent when failover is none. */
export interface ResolvedFailover {
  readonly mode: 'sentinel';
  /** A majority of the pods: floor(replicas / 2) + 1. */
  readonly quorum: number;
  readonly downAfterMilliseconds: number;
  readonly failoverTimeoutMilliseconds: number;
}

/** The failover mode a spec asks for, its default resolved (sentinel from 3 replicas). */
export function failoverModeOf(spec: { readonly failover?: unknown; readonly replicas?: unknown } | undefined): FailoverMode {
  if (spec?.failover === 'sentinel' || spec?.failover === 'none') return spec.failover;
  const replicas = typeof spec?.replicas === 'number' ? spec.replicas : 1;
  return replicas >= 3 ? 'sentinel' : 'none';
}

/** Whether a spec's pods run the pod agent, its default resolved (on with failover sentinel). */
export function podAgentOf(spec: { readonly failover?: unknown; readonly replicas?: unknown; readonly podAgent?: unknown } | undefined): boolean {
  if (typeof spec?.podAgent === 'boolean') return spec.podAgent;
  return failoverModeOf(spec) === 'sentinel';
}

/** A spec with every default resolved: what the renderer works from. */
export interface ResolvedRedisInstanceSpec {
  readonly image: string;
  readonly replicas: number;
  readonly resources?: ResourceRequirements;
  readonly storage: { readonly size: string; readonly storageClassName?: string };
  readonly config: Readonly<Record<string, string>>;
  readonly auth?: { readonly secretName: string; readonly secretKey: string; readonly rotationGracePeriodSeconds?: number };
  readonly networkPolicy: {
    readonly enabled: boolean;
    readonly from?: readonly NetworkPolicyPeer[];
    readonly metricsNamespace: string;
    readonly restrictEgress: boolean;
  };
  readonly metrics?: {
    readonly enabled: boolean;
    readonly image: string;
    readonly resources: ResourceRequirements;
    readonly labels?: Readonly<Record<string, string>>;
    readonly interval: string;
    readonly alerts: Required<RedisAlertsSpec>;
  };
  readonly tls?: {
    readonly enabled: boolean;
    readonly secretName?: string;
    readonly issuerRef?: { readonly name: string; readonly kind: 'Issuer' | 'ClusterIssuer'; readonly group: string };
    readonly authClients: boolean;
    readonly allowPlaintext: boolean;
  };
  readonly failover?: { readonly mode: 'sentinel'; readonly quorum: number; readonly downAfterMilliseconds: number; readonly failoverTimeoutMilliseconds: number };
  /** The pod agent runs (always with failover; without it, it reports the config status only). */
  readonly podAgent: boolean;
  /** As written in the spec; absent means the default (see RedisInstanceSpec). */
  readonly affinity?: Readonly<Record<string, unknown>>;
  /** As written in the spec; absent means the default. */
  readonly topologySpreadConstraints?: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

/** A validated instance: identity plus resolved spec. */
export interface ResolvedRedisInstance {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly spec: ResolvedRedisInstanceSpec;
}

export type RedisPhase = 'Unknown' | 'Creating' | 'Pending' | 'Running' | 'Updating' | 'Failed' | 'Terminated';

/** A standard Kubernetes condition (metav1.Condition). */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

export interface RedisInstanceStatus {
  readonly phase?: RedisPhase;
  readonly ready?: boolean;
  readonly message?: string;
  readonly observedGeneration?: number;
  readonly replicas?: number;
  readonly readyReplicas?: number;
  readonly updatedReplicas?: number;
  /** The pod labelled primary (failover sentinel only). */
  readonly primary?: string;
  readonly conditions?: readonly Condition[];
  /** What the reconciler last found this instance settled on (src/reconcile/fingerprint.ts); absent otherwise. */
  readonly fingerprint?: string;
}

/** A RedisInstance object as stored in the cluster or written in YAML. */
export interface RedisInstanceObject {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec: RedisInstanceSpec;
  status?: RedisInstanceStatus;
}
