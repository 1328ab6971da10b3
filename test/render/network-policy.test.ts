import { describe, expect, it } from 'vitest';
import { load, loadAll } from 'js-yaml';
import { validateRedisInstance } from '../../src/api/validate';
import type { RedisInstanceSpec } from '../../src/api/types';
import { renderInstance } from '../../src/render/instance';
import { NAMESPACE_NAME_LABEL, SENTINEL_PORT, clientLabel, type NetworkPolicy } from '../../src/render/network-policy';
import { matchesLabelSelector } from '../support/apiserver/selectors';
import { kubernetesSchemaErrors } from '../support/k8s-schema';
import { shippedInstances } from '../support/redis/examples';

function render(spec: Partial<RedisInstanceSpec> = {}, name = 'cache', namespace = 'web') {
  const result = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name, namespace }, spec: { image: 'redis:7.2.4', ...spec } });
  if (!result.ok) throw new Error(result.issues.join('\n'));
  return renderInstance(result.instance);
}

interface Pod { readonly namespace: string; readonly labels: Record<string, string>; readonly namespaceLabels?: Record<string, string> }

/**
 * Whether the policy lets `pod` open a TCP connection to `port` of a selected pod, by the
 * NetworkPolicy rules (a rule admits when one of its peers and one of its ports match; a
 * podSelector-only peer means the policy's namespace), with the apiserver's selector code.
 */
function admits(policy: NetworkPolicy, pod: Pod, port: number): boolean {
  const nsLabels = pod.namespaceLabels ?? { [NAMESPACE_NAME_LABEL]: pod.namespace };
  return (policy.spec.ingress ?? []).some((rule) => (rule.ports ?? []).some((p) => p.port === port && p.protocol === 'TCP')
    && (rule.from ?? []).some((peer) => {
      const nsOk = peer.namespaceSelector ? matchesLabelSelector(peer.namespaceSelector as any, nsLabels) : pod.namespace === policy.metadata.namespace;
      const podOk = peer.podSelector ? matchesLabelSelector(peer.podSelector as any, pod.labels) : true;
      return nsOk && podOk;
    }));
}

describe('NetworkPolicy', () => {
  it('is on by default, selects exactly the rendered pods, and admits the Redis port from own pods and labelled clients only', () => {
    const rendered = render({ replicas: 3 });
    const policy = rendered.networkPolicy!;
    const podLabels = rendered.statefulSet.spec!.template.metadata!.labels!;
    expect(policy.metadata).toMatchObject({ name: 'cache', namespace: 'web' });
    expect(matchesLabelSelector(policy.spec.podSelector as any, podLabels)).toBe(true);
    expect(matchesLabelSelector(policy.spec.podSelector as any, { ...podLabels, 'app.kubernetes.io/instance': 'other' })).toBe(false);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.egress).toBeUndefined();

    const self: Pod = { namespace: 'web', labels: podLabels };
    const client: Pod = { namespace: 'web', labels: { app: 'shop', ...clientLabel('cache') } };
    expect(clientLabel('cache')).toEqual({ 'redis.github.com/client-cache': 'true' });
    expect(admits(policy, self, 6379)).toBe(true);
    expect(admits(policy, self, SENTINEL_PORT)).toBe(true);
    expect(SENTINEL_PORT).toBe(26379);
    expect(admits(policy, client, 6379)).toBe(true);
    // With failover (3 replicas) clients reach Sentinel too: Sentinel-aware clients ask it for the primary.
    expect(admits(policy, client, SENTINEL_PORT)).toBe(true);
    expect(admits(render({ replicas: 2 }).networkPolicy!, client, SENTINEL_PORT)).toBe(false);
    expect(admits(policy, { namespace: 'web', labels: { app: 'shop' } }, 6379)).toBe(false);
    expect(admits(policy, { namespace: 'web', labels: { 'redis.github.com/client-cache': 'yes' } }, 6379)).toBe(false);
    expect(admits(policy, { namespace: 'other', labels: { ...clientLabel('cache') } }, 6379)).toBe(false);
    expect(admits(policy, { namespace: 'other', labels: podLabels }, 6379)).toBe(false);
    expect(admits(policy, client, 9121)).toBe(false);
  });

  it('admits the peers of spec.networkPolicy.from, with Kubernetes peer semantics', () => {
    const policy = render({
      networkPolicy: {
        from: [
          { namespaceSelector: { matchLabels: { team: 'checkout' } } },
          { podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['api', 'worker'] }] } },
          { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'batch' } }, podSelector: { matchLabels: { job: 'export' } } },
        ],
      },
    }).networkPolicy!;
    expect(admits(policy, { namespace: 'orders', namespaceLabels: { team: 'checkout' }, labels: {} }, 6379)).toBe(true);
    expect(admits(policy, { namespace: 'orders', namespaceLabels: { team: 'search' }, labels: {} }, 6379)).toBe(false);
    expect(admits(policy, { namespace: 'web', labels: { role: 'worker' } }, 6379)).toBe(true);
    expect(admits(policy, { namespace: 'jobs', labels: { role: 'worker' } }, 6379)).toBe(false);
    expect(admits(policy, { namespace: 'batch', labels: { job: 'export' } }, 6379)).toBe(true);
    expect(admits(policy, { namespace: 'batch', labels: { job: 'import' } }, 6379)).toBe(false);
    expect(admits(policy, { namespace: 'orders', namespaceLabels: { team: 'checkout' }, labels: {} }, SENTINEL_PORT)).toBe(false);
  });

  it('restricts egress to own pods and DNS only when asked', () => {
    const policy = render({ networkPolicy: { restrictEgress: true } }).networkPolicy!;
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.egress).toEqual([
      { to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' } } }], ports: [{ protocol: 'TCP', port: 6379 }, { protocol: 'TCP', port: 26379 }] },
      { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
    ]);
  });

  it('with restricted egress and failover, lets the role agent reach the API server (443 and 6443, any address); never without the agent', () => {
    const ownPods = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' } } };
    const dns = { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] };
    const api = { ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] };
    const failover = render({ replicas: 3, networkPolicy: { restrictEgress: true } });
    expect(failover.statefulSet.spec!.template.spec!.containers.map((c) => c.name)).toContain('role-agent');
    expect(failover.networkPolicy!.spec.egress).toEqual([
      { to: [ownPods], ports: [{ protocol: 'TCP', port: 6379 }, { protocol: 'TCP', port: 26379 }] }, dns, api,
    ]);
    for (const spec of [{ replicas: 3, failover: 'none' as const }, { replicas: 2 }, { replicas: 1 }]) {
      const rendered = render({ ...spec, networkPolicy: { restrictEgress: true } });
      expect(rendered.statefulSet.spec!.template.spec!.containers.map((c) => c.name)).not.toContain('role-agent');
      expect(rendered.networkPolicy!.spec.egress, JSON.stringify(spec)).toEqual([
        { to: [ownPods], ports: [{ protocol: 'TCP', port: 6379 }, { protocol: 'TCP', port: 26379 }] }, dns,
      ]);
    }
    // Egress unrestricted (the default): no egress rules at all.
    expect(render({ replicas: 3 }).networkPolicy!.spec.egress).toBeUndefined();
    expect(kubernetesSchemaErrors(load(JSON.stringify(failover.networkPolicy)) as any)).toEqual([]);
  });

  it('with TLS and failover during a migration (allowPlaintext): the plain ports of Redis and Sentinel for clients and own pods', () => {
    const rendered = render({ replicas: 3, tls: { secretName: 'cache-tls', allowPlaintext: true } });
    const policy = rendered.networkPolicy!;
    const client: Pod = { namespace: 'web', labels: clientLabel('cache') };
    const self: Pod = { namespace: 'web', labels: rendered.statefulSet.spec!.template.metadata!.labels! };
    for (const port of [6379, 6380, 26379, 26380]) {
      expect(admits(policy, client, port), `client ${port}`).toBe(true);
      expect(admits(policy, self, port), `own pod ${port}`).toBe(true);
    }
    expect(rendered.service.spec!.ports!.map((p) => `${p.name}:${p.port}`)).toEqual(['redis:6379', 'redis-plain:6380', 'sentinel:26379', 'sentinel-plain:26380']);
    const tlsOnly = render({ replicas: 3, tls: { secretName: 'cache-tls' } });
    expect(tlsOnly.service.spec!.ports!.map((p) => `${p.name}:${p.port}`)).toEqual(['redis:6379', 'sentinel:26379']);
    expect(admits(tlsOnly.networkPolicy!, client, 26380)).toBe(false);
  });

  it('is not rendered with enabled: false', () => {
    const rendered = render({ networkPolicy: { enabled: false } });
    expect(rendered.networkPolicy).toBeUndefined();
  });

  it('validates against the Kubernetes schema, in every shipped example and with every option', () => {
    const shipped = shippedInstances().flatMap((e) => (loadAll(e.text) as any[]).filter((o) => o.kind === 'NetworkPolicy'));
    expect(shipped.length).toBeGreaterThanOrEqual(3);
    const options = render({
      networkPolicy: {
        restrictEgress: true,
        from: [{ namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Exists' }] }, podSelector: { matchLabels: { a: 'b' } } }],
      },
    }).networkPolicy!;
    for (const policy of [...shipped, load(JSON.stringify(options))]) expect(kubernetesSchemaErrors(policy as any)).toEqual([]);
  });

  it('the schema check catches what the apiserver would drop or refuse', () => {
    const policy = structuredClone(render().networkPolicy!) as any;
    policy.spec.ingress[0]._from = policy.spec.ingress[0].from;
    policy.spec.ingress[1].ports[0].port = 6379.5;
    policy.spec.podSelector.matchExpressions = [{ key: 'a' }];
    expect(kubernetesSchemaErrors(policy).sort()).toEqual([
      'NetworkPolicy: spec.ingress[0]._from: unknown field in V1NetworkPolicyIngressRule',
      'NetworkPolicy: spec.ingress[1].ports[0].port: must be an integer or a string, got 6379.5',
      'NetworkPolicy: spec.podSelector.matchExpressions[0].operator: required field of V1LabelSelectorRequirement is missing',
    ]);
  });

  it('refuses bad peers with the field path', () => {
    const result = validateRedisInstance({
      apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache', namespace: 'web' },
      spec: {
        image: 'redis:7.2.4',
        networkPolicy: {
          from: [
            {},
            { podSelector: { matchExpressions: [{ key: 'role', operator: 'In' }, { key: 'x', operator: 'Exists', values: ['y'] }] } },
            { namespaceSelector: { matchLabels: { 'bad key!': 'v' } } },
          ],
          metricsNamespace: 'Monitoring',
        },
      },
    });
    expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.networkPolicy.from[0]: must not be empty',
      "spec.networkPolicy.metricsNamespace: must be a valid Kubernetes name (lower-case letters, digits, '-' and '.'), got \"Monitoring\"",
      'spec.networkPolicy.from[1].podSelector.matchExpressions[0].values: In needs at least one value',
      'spec.networkPolicy.from[1].podSelector.matchExpressions[1].values: Exists takes no values',
      'spec.networkPolicy.from[2].namespaceSelector.matchLabels["bad key!"]: is not a valid label key (optional DNS prefix and "/", then a name of at most 63 characters)',
    ]);
  });
});
