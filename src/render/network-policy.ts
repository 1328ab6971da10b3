import type {
  V1NetworkPolicyEgressRule, V1NetworkPolicyIngressRule, V1NetworkPolicyPeer, V1NetworkPolicyPort, V1NetworkPolicySpec, V1ObjectMeta,
} from '@kubernetes/client-node';
import type { ResolvedRedisInstance } from '../api/types';
import { REDIS_PORT } from '../redis-conf/render';

/**
 * The NetworkPolicy of an instance (spec.networkPolicy, on by default): who may open a
 * connection to its pods. Pure: one instance in, one object out.
 *
 * Ingress, port by port:
 * - the Redis port (and the Sentinel port) from the instance's own pods: replication, and
 *   Sentinels watching each other;
 * - the Redis port (with failover, the Sentinel port too: Sentinel-aware clients ask it for
 *   the primary) from the clients: pods of the instance's namespace labelled
 *   `redis.github.com/client-<name>: "true"` (clientLabel), plus the peers in `from`;
 * - the metrics port from the namespace `metricsNamespace` only (with spec.metrics).
 * Egress stays unrestricted unless `restrictEgress`: then only to the instance's own pods,
 * to DNS and, when the role agent runs (failover), to the Kubernetes API server.
 */

/**
 * Redis Sentinel's port. Sentinel runs in the instance's pods with failover (a separate
 * piece of work); the policy admits it between the instance's own pods already, so
 * turning failover on needs no policy change.
 */
export const SENTINEL_PORT = 26379;

/** The label a client pod in the instance's namespace carries to be admitted: `redis.github.com/client-<name>: "true"`. */
export function clientLabel(name: string): Record<string, string> {
  return { [`redis.github.com/client-${name}`]: 'true' };
}

/**
 * networking.k8s.io/v1 NetworkPolicy as JSON. client-node's model names the `from` field
 * `_from` (its serializer renames it), so its types do not describe the JSON we write.
 */
export interface NetworkPolicyIngressRule extends Omit<V1NetworkPolicyIngressRule, '_from'> {
  from?: V1NetworkPolicyPeer[];
}
export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: V1ObjectMeta;
  spec: Omit<V1NetworkPolicySpec, 'ingress' | 'egress'> & { ingress?: NetworkPolicyIngressRule[]; egress?: V1NetworkPolicyEgressRule[] };
}

/** The label every namespace carries with its own name (Kubernetes 1.21 and newer). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** What else the policy admits, from the features that add ports (metrics, a plaintext port during a TLS migration). */
export interface NetworkPolicyPorts {
  /** More ports clients use besides REDIS_PORT (e.g. plain TCP while migrating to TLS). */
  readonly extraClientPorts?: readonly number[];
  /** The metrics port, when the exporter sidecar runs. */
  readonly metricsPort?: number;
  /** Sentinel's ports for clients, with failover (26379, and its plain port during a TLS migration). */
  readonly sentinelPorts?: readonly number[];
  /** The role agent runs (failover): with restrictEgress, egress to the API server too. */
  readonly kubernetesApi?: boolean;
}

/**
 * The API server's ports: 443 (the `kubernetes` Service) and 6443 (its usual endpoint port;
 * most network plugins check egress after the Service address is translated). The API
 * server is no pod, so no pod or namespace selector picks it, and its address depends on
 * the cluster: the rule admits these ports to any address (the trade-off: docs/failover.md,
 * NetworkPolicy).
 */
export const KUBERNETES_API_PORTS: readonly number[] = Object.freeze([443, 6443]);

function tcp(...ports: number[]): V1NetworkPolicyPort[] {
  return ports.map((port) => ({ protocol: 'TCP', port }));
}

export function renderNetworkPolicy(
  instance: ResolvedRedisInstance,
  selector: Record<string, string>,
  labels: Record<string, string>,
  ports: NetworkPolicyPorts = {},
): NetworkPolicy | undefined {
  const policy = instance.spec.networkPolicy;
  if (!policy.enabled) return undefined;
  const clientPorts = [REDIS_PORT, ...(ports.extraClientPorts ?? []), ...(ports.sentinelPorts ?? [])];
  const podPorts = [...new Set([...clientPorts, SENTINEL_PORT])];
  const ownPods: V1NetworkPolicyPeer = { podSelector: { matchLabels: { ...selector } } };
  const ingress: NetworkPolicyIngressRule[] = [
    { from: [ownPods], ports: tcp(...podPorts) },
    {
      from: [
        { podSelector: { matchLabels: clientLabel(instance.name) } },
        ...(policy.from ?? []).map((peer) => structuredClone(peer) as V1NetworkPolicyPeer),
      ],
      ports: tcp(...clientPorts),
    },
  ];
  if (ports.metricsPort !== undefined) {
    ingress.push({
      from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: policy.metricsNamespace } } }],
      ports: tcp(ports.metricsPort),
    });
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: instance.name, namespace: instance.namespace, labels },
    spec: {
      podSelector: { matchLabels: { ...selector } },
      policyTypes: policy.restrictEgress ? ['Ingress', 'Egress'] : ['Ingress'],
      ingress,
      ...(policy.restrictEgress ? {
        egress: [
          { to: [ownPods], ports: tcp(...podPorts) },
          // Any resolver: cluster DNS runs in kube-system on most clusters, but not on all.
          { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
          // The role agent patches its pod's label: the API server, at any address.
          ...(ports.kubernetesApi ? [{ ports: tcp(...KUBERNETES_API_PORTS) }] : []),
        ],
      } : {}),
    },
  };
}
