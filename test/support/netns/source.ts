import type { RedisInstanceSpec, ResolvedRedisInstance } from '../../../src/api/types';
import { validateRedisInstance } from '../../../src/api/validate';
import { renderInstance } from '../../../src/render/instance';
import { AGENT_CONTAINER_NAME } from '../../../src/render/config-agent';
import { ROLE_AGENT_CONTAINER_NAME } from '../../../src/render/role-agent';
import type { FailoverPodSource } from './seam';

/** An inline test instance, validated as the reconciler validates it (defaults resolved). */
export function testInstance(spec: RedisInstanceSpec, options: { readonly name?: string; readonly namespace?: string } = {}): ResolvedRedisInstance {
  const { name = 'cache', namespace = 'test' } = options;
  const result = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name, namespace }, spec });
  if (!result.ok) throw new Error(`invalid test instance:\n${result.issues.join('\n')}`);
  return result.instance;
}

/** An inline test instance, validated, with failover on (quorum a majority of replicas). */
export function failoverInstance(
  spec: RedisInstanceSpec, options: { readonly name?: string; readonly namespace?: string; readonly downAfterMilliseconds?: number } = {},
): ResolvedRedisInstance {
  const resolved = testInstance(spec, options);
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
 * The rendered StatefulSet and ConfigMap of `instance`, as renderInstance makes them (init
 * containers, Redis with its preStop, Sentinel, Parallel pods, the grace period), less the
 * role agent (it runs the redis-gitops image and talks to the Kubernetes API, which these
 * network namespaces do not have; test/role-agent runs it against the test API server) and
 * the config agent (live changes; test/support/redis runs it). Those containers, and the
 * volumes only they mount, are the one thing this seam removes. `roleAgent: true` keeps the
 * role agent: the harness then runs this checkout's `redis-gitops role-agent` in the pod's
 * namespace against a test API server (connectPodApi, test/support/netns/kube.ts).
 * Works for an instance without failover too (its pods then run Redis only).
 */
export function failoverPodSource(instance: ResolvedRedisInstance, options: { readonly roleAgent?: boolean } = {}): FailoverPodSource {
  const rendered = renderInstance(instance);
  const statefulSet = structuredClone(rendered.statefulSet);
  const pod = statefulSet.spec!.template.spec!;
  const removed = new Set([AGENT_CONTAINER_NAME, ...(options.roleAgent ? [] : [ROLE_AGENT_CONTAINER_NAME])]);
  pod.containers = pod.containers.filter((c) => !removed.has(c.name));
  const mounted = new Set([...(pod.initContainers ?? []), ...pod.containers].flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)));
  pod.volumes = (pod.volumes ?? []).filter((v) => mounted.has(v.name));
  return { statefulSet, configMap: rendered.configMap, ...(rendered.primaryService ? { primaryService: rendered.primaryService } : {}) };
}
