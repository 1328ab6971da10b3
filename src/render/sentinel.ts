import type { V1Container, V1EnvVar, V1Lifecycle, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ResolvedRedisInstance } from '../api/types';
import { CONFIG_DIR, REDIS_PORT } from '../redis-conf/render';

/**
 * PLACEHOLDER, replaced at merge by the pod engineer's version (branch `ha`), which owns
 * what runs inside the pods: start-up, election, preStop and the Sentinel configuration.
 * This file only has the exported names and signatures the contract fixes, and the least
 * body that runs: a `sentinel` container with `redis-sentinel` monitoring pod 0. No
 * start-up election, no preStop failover, no Sentinel auth.
 */

/** Sentinel's port in every pod (Redis is on REDIS_PORT). */
export const SENTINEL_PORT = 26379;

export const SENTINEL_CONTAINER_NAME = 'sentinel';
const SENTINEL_DIR = '/run/sentinel';
const SENTINEL_SCRIPT = 'sentinel.sh';

/** The script files the instance's ConfigMap gets (keys = file names). */
export function sentinelConfigMapData(instance: ResolvedRedisInstance): Record<string, string> {
  void instance;
  return {
    [SENTINEL_SCRIPT]: `set -eu
# PLACEHOLDER sentinel start-up: monitor pod 0, identified by its stable DNS name.
me="$POD_NAME.$INSTANCE.$POD_NAMESPACE.svc"
primary="$INSTANCE-0.$INSTANCE.$POD_NAMESPACE.svc"
conf="${SENTINEL_DIR}/sentinel.conf"
{
  printf 'port %s\\n' "$SENTINEL_PORT"
  printf 'sentinel resolve-hostnames yes\\nsentinel announce-hostnames yes\\n'
  printf 'sentinel announce-ip %s\\n' "$me"
  printf 'sentinel monitor %s %s %s %s\\n' "$INSTANCE" "$primary" "$REDIS_PORT" "$SENTINEL_QUORUM"
  printf 'sentinel down-after-milliseconds %s %s\\n' "$INSTANCE" "$SENTINEL_DOWN_AFTER_MS"
  printf 'sentinel failover-timeout %s %s\\n' "$INSTANCE" "$SENTINEL_FAILOVER_TIMEOUT_MS"
} > "$conf"
exec redis-sentinel "$conf"
`,
  };
}

export interface SentinelPodParts {
  readonly initEnv: V1EnvVar[];
  readonly containers: V1Container[];
  readonly volumes: V1Volume[];
  readonly redisLifecycle: V1Lifecycle;
  readonly redisVolumeMounts: V1VolumeMount[];
  readonly initVolumeMounts: V1VolumeMount[];
}

/** The pod parts of Sentinel failover, merged into the StatefulSet by renderStatefulSet. */
export function sentinelPodParts(instance: ResolvedRedisInstance): SentinelPodParts {
  const failover = instance.spec.failover;
  if (!failover) throw new Error(`internal: sentinelPodParts called for ${instance.name} without failover`);
  const env: V1EnvVar[] = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'INSTANCE', value: instance.name },
    { name: 'REPLICAS', value: String(instance.spec.replicas) },
    { name: 'REDIS_PORT', value: String(REDIS_PORT) },
    { name: 'SENTINEL_PORT', value: String(SENTINEL_PORT) },
    { name: 'SENTINEL_QUORUM', value: String(failover.quorum) },
    { name: 'SENTINEL_DOWN_AFTER_MS', value: String(failover.downAfterMilliseconds) },
    { name: 'SENTINEL_FAILOVER_TIMEOUT_MS', value: String(failover.failoverTimeoutMilliseconds) },
  ];
  return {
    // POD_NAME is already in the init container's env.
    initEnv: env.filter((e) => e.name !== 'POD_NAME'),
    containers: [{
      name: SENTINEL_CONTAINER_NAME,
      image: instance.spec.image,
      command: ['sh', `${CONFIG_DIR}/${SENTINEL_SCRIPT}`],
      ports: [{ name: 'sentinel', containerPort: SENTINEL_PORT, protocol: 'TCP' }],
      env,
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
      readinessProbe: {
        exec: { command: ['sh', '-c', `redis-cli -h 127.0.0.1 -p ${SENTINEL_PORT} ping | grep -q PONG`] },
        periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1,
      },
      volumeMounts: [
        { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
        { name: 'sentinel', mountPath: SENTINEL_DIR },
      ],
    }],
    volumes: [{ name: 'sentinel', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }],
    redisLifecycle: {},
    redisVolumeMounts: [],
    initVolumeMounts: [],
  };
}
