import type { RedisInstanceSpec, ResolvedRedisInstance } from '../../../src/api/types';
import { validateRedisInstance } from '../../../src/api/validate';
import { CONTAINER_NAME, INIT_CONTAINER_NAME, renderInstance } from '../../../src/render/instance';
import {
  TERMINATION_GRACE_PERIOD_SECONDS, sentinelConfigMapData, sentinelPodParts,
} from '../../../src/render/sentinel';
import type { FailoverPodSource } from './seam';

/** An inline test instance, validated, with failover on (quorum a majority of replicas). */
export function failoverInstance(
  spec: RedisInstanceSpec, options: { readonly name?: string; readonly namespace?: string; readonly downAfterMilliseconds?: number } = {},
): ResolvedRedisInstance {
  const { name = 'cache', namespace = 'test' } = options;
  const result = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name, namespace }, spec });
  if (!result.ok) throw new Error(`invalid test instance:\n${result.issues.join('\n')}`);
  const resolved = result.instance;
  return {
    ...resolved,
    spec: {
      ...resolved.spec,
      failover: {
        mode: 'sentinel',
        quorum: Math.floor(resolved.spec.replicas / 2) + 1,
        downAfterMilliseconds: options.downAfterMilliseconds ?? 5000,
        failoverTimeoutMilliseconds: 60000,
      },
    },
  };
}

/**
 * THE seam until the StatefulSet renderer merges the failover parts itself: the rendered
 * StatefulSet and ConfigMap of `instance`, with sentinelPodParts and sentinelConfigMapData
 * merged in as the contract says (init containers after `config`, the Sentinel container
 * after `redis`, the preStop on `redis`, Parallel pod management, the grace period). Once
 * renderInstance does this, the tests take its output and this function goes.
 */
export function failoverPodSource(instance: ResolvedRedisInstance): FailoverPodSource {
  const rendered = renderInstance(instance);
  const parts = sentinelPodParts(instance);
  const statefulSet = structuredClone(rendered.statefulSet);
  const pod = statefulSet.spec!.template.spec!;
  const init = pod.initContainers!.find((c) => c.name === INIT_CONTAINER_NAME)!;
  init.env = [...(init.env ?? []), ...parts.initEnv];
  init.volumeMounts = [...(init.volumeMounts ?? []), ...parts.initVolumeMounts];
  pod.initContainers!.push(...parts.initContainers);
  const redis = pod.containers.find((c) => c.name === CONTAINER_NAME)!;
  redis.lifecycle = parts.redisLifecycle;
  redis.volumeMounts = [...(redis.volumeMounts ?? []), ...parts.redisVolumeMounts];
  pod.containers.push(...parts.containers);
  pod.volumes = [...(pod.volumes ?? []), ...parts.volumes];
  pod.terminationGracePeriodSeconds = TERMINATION_GRACE_PERIOD_SECONDS;
  statefulSet.spec!.podManagementPolicy = 'Parallel';
  const configMap = structuredClone(rendered.configMap);
  configMap.data = { ...configMap.data, ...sentinelConfigMapData(instance) };
  return { statefulSet, configMap };
}
