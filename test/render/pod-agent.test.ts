import { describe, expect, it } from 'vitest';
import { ROLE_AGENT_CONTAINER_NAME } from '../../src/render/role-agent';
import { renderSpec } from '../support/redis';

const agentOf = (r: ReturnType<typeof renderSpec>) => r.statefulSet.spec!.template.spec!.containers.find((c) => c.name === ROLE_AGENT_CONTAINER_NAME);

describe('spec.podAgent', () => {
  it('off by default without failover: no agent container, no RBAC, no service account', () => {
    const r = renderSpec({ image: 'redis:7.2.4', auth: { secretName: 'pw' } });
    expect(agentOf(r)).toBeUndefined();
    expect(r.serviceAccount).toBeUndefined();
    expect(r.statefulSet.spec!.template.spec!.serviceAccountName).toBeUndefined();
  });

  it('true without failover: the agent status-only (no Redis, no password, no Sentinel), its RBAC, the status file read-only', () => {
    const r = renderSpec({ image: 'redis:7.2.4', replicas: 2, podAgent: true, auth: { secretName: 'pw' } });
    const agent = agentOf(r)!;
    expect(agent.args).toEqual(['role-agent', '--status-only']);
    expect(agent.env!.map((e) => e.name)).toEqual(['POD_NAME', 'POD_NAMESPACE', 'INSTANCE', 'CONFIG_STATUS_FILE', 'NODE_OPTIONS']);
    expect(agent.env!.find((e) => e.name === 'CONFIG_STATUS_FILE')!.value).toBe('/run/redis/agent-status');
    expect(agent.volumeMounts).toContainEqual({ name: 'runtime', mountPath: '/run/redis', readOnly: true });
    expect(agent.volumeMounts!.map((m) => m.name)).not.toContain('role-agent-auth');
    expect(r.statefulSet.spec!.template.spec!.volumes!.map((v) => v.name)).not.toContain('role-agent-auth');
    expect(r.statefulSet.spec!.template.spec!.serviceAccountName).toBe('cache-role-agent');
    expect(r.role!.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'], resourceNames: ['cache-0', 'cache-1'] }]);
    expect(r.roleBinding!.subjects).toEqual([{ kind: 'ServiceAccount', name: 'cache-role-agent', namespace: 'test' }]);
    // No role labels: the write Service stays on pod 0.
    expect(r.primaryService!.spec!.selector).toMatchObject({ 'statefulset.kubernetes.io/pod-name': 'cache-0' });
  });

  it('with failover: the agent keeps the role labels and publishes the status file', () => {
    const agent = agentOf(renderSpec({ image: 'redis:7.2.4', replicas: 3, auth: { secretName: 'pw' } }))!;
    expect(agent.args).toEqual(['role-agent']);
    expect(agent.env!.map((e) => e.name)).toEqual(['POD_NAME', 'POD_NAMESPACE', 'INSTANCE', 'CONFIG_STATUS_FILE', 'REDIS_PORT', 'SENTINEL_PORT', 'REDIS_PASSWORD_FILE', 'NODE_OPTIONS']);
    expect(agent.volumeMounts).toContainEqual({ name: 'runtime', mountPath: '/run/redis', readOnly: true });
  });
});
