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

/** `spec` of a RedisInstance, as written by a user. */
export interface RedisInstanceSpec {
  /** Container image with redis-server, redis-cli and sh, e.g. `redis:7.2.4-alpine`. */
  readonly image: string;
  /**
   * Number of pods; pod 0 is the primary and the others replicate from it.
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
}

/** A spec with every default resolved: what the renderer works from. */
export interface ResolvedRedisInstanceSpec {
  readonly image: string;
  readonly replicas: number;
  readonly resources?: ResourceRequirements;
  readonly storage: { readonly size: string; readonly storageClassName?: string };
  readonly config: Readonly<Record<string, string>>;
  readonly auth?: { readonly secretName: string; readonly secretKey: string; readonly rotationGracePeriodSeconds?: number };
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
  readonly conditions?: readonly Condition[];
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
