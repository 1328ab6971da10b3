/**
 * The names and labels every step uses for an instance's objects, apart from the renderer
 * (src/render/instance.ts re-exports them): the reconciler's read step needs these without
 * loading the renderer, so a pass over a cluster without instances never loads it.
 */

export const INSTANCE_LABEL = 'redis.github.com/instance';
export const MANAGED_BY = 'redis-gitops';

/** The labels that select an instance's pods; they never change for an instance. */
export function selectorLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': name };
}

/** Name of the Service for writes (replicas > 1): the pod labelled primary, or pod 0 without failover. */
export function primaryServiceName(name: string): string {
  return `${name}-primary`;
}

/** The role agents' ServiceAccount, Role and RoleBinding of an instance. */
export function roleAgentName(instanceName: string): string {
  return `${instanceName}-role-agent`;
}
