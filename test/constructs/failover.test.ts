import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { RedisInstance, type RedisInstanceProps } from '../../src/constructs/redis-instance';
import { PRE_STOP_TIMEOUT_SECONDS, SENTINEL_PORT, TERMINATION_GRACE_PERIOD_SECONDS } from '../../src/render/sentinel';
import { ROLE_AGENT_IMAGE, SERVICE_ACCOUNT_DIR } from '../../src/render/role-agent';
import { PACKAGE_VERSION } from '../../src/version';

function synth(props: Partial<RedisInstanceProps> = {}) {
  const chart = Testing.chart();
  new RedisInstance(chart, 'sessions', { image: 'redis:7.2.4-alpine', namespace: 'shop', replicas: 3, ...props });
  const objects: any[] = Testing.synth(chart);
  const find = (kind: string, name = 'sessions') => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const sts = find('StatefulSet');
  const pod = sts.spec.template.spec;
  const container = (name: string) => pod.containers.find((c: any) => c.name === name);
  return { objects, find, sts, pod, container };
}

const selector = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'sessions' };

describe('failover sentinel (the default from 3 replicas)', () => {
  const { objects, find, sts, pod, container } = synth();

  it('renders the role agents\' ServiceAccount, Role and RoleBinding before the StatefulSet', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'RedisInstance/sessions', 'ConfigMap/sessions', 'Service/sessions', 'Service/sessions-primary',
      'ServiceAccount/sessions-role-agent', 'Role/sessions-role-agent', 'RoleBinding/sessions-role-agent',
      'StatefulSet/sessions', 'PodDisruptionBudget/sessions', 'NetworkPolicy/sessions',
    ]);
    expect(find('RedisInstance').spec).toMatchObject({ failover: 'sentinel', sentinel: { downAfterMilliseconds: 5000, failoverTimeoutMilliseconds: 60000 } });
  });

  it('points <name>-primary at the pod labelled primary', () => {
    expect(find('Service', 'sessions-primary').spec.selector).toEqual({ ...selector, 'redis.github.com/role': 'primary' });
  });

  it('serves Sentinel on the headless Service, whose pod names resolve before the pods are ready', () => {
    const headless = find('Service').spec;
    expect(headless.ports).toEqual([
      { name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' },
      { name: 'sentinel', port: SENTINEL_PORT, targetPort: 'sentinel', protocol: 'TCP' },
    ]);
    expect(SENTINEL_PORT).toBe(26379);
    expect(headless.publishNotReadyAddresses).toBe(true);
    expect(container('sentinel').ports).toEqual([{ name: 'sentinel', containerPort: 26379, protocol: 'TCP' }]);
  });

  it('starts the pods in parallel and gives the preStop failover time', () => {
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    // The preStop failover is bounded (PRE_STOP_TIMEOUT_SECONDS), whatever Sentinel's failover-timeout.
    expect(pod.terminationGracePeriodSeconds).toBe(TERMINATION_GRACE_PERIOD_SECONDS);
    expect(TERMINATION_GRACE_PERIOD_SECONDS).toBeGreaterThan(PRE_STOP_TIMEOUT_SECONDS);
    expect(synth({ sentinel: { failoverTimeoutMilliseconds: 3_600_000 } }).pod.terminationGracePeriodSeconds).toBe(TERMINATION_GRACE_PERIOD_SECONDS);
    expect(container('redis').lifecycle.preStop.exec.command).toEqual(['sh', '/usr/local/etc/redis/ha-pre-stop.sh', '/run/redis/ha.env']);
  });

  it('runs redis, sentinel and the role agent; the scripts hash rolls the pods when a script changes', () => {
    expect(pod.containers.map((c: any) => c.name)).toEqual(['redis', 'sentinel', 'role-agent', 'config-agent']);
    expect(container('sentinel').image).toBe('redis:7.2.4-alpine');
    expect(Object.keys(find('ConfigMap').data).sort()).toEqual(['config-agent.sh', 'ha-init.sh', 'ha-lib.sh', 'ha-pre-stop.sh', 'ha-sentinel.sh', 'live.conf', 'redis.conf']);
    expect(sts.spec.template.metadata.annotations['redis.github.com/scripts-hash']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the start-up init container, after config, the Sentinel settings', () => {
    expect(pod.initContainers.map((c: any) => c.name)).toEqual(['config', 'start-up']);
    const env = Object.fromEntries(pod.initContainers[1].env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({
      INSTANCE: 'sessions', REPLICAS: '3', REDIS_PORT: '6379', SENTINEL_PORT: '26379', SENTINEL_QUORUM: '2',
      SENTINEL_DOWN_AFTER_MS: '5000', SENTINEL_FAILOVER_TIMEOUT_MS: '60000',
    });
    const names = pod.initContainers[1].env.map((e: any) => e.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('runs the role agent from the redis-gitops image with a token only it mounts', () => {
    const agent = container('role-agent');
    expect(agent.image).toBe(ROLE_AGENT_IMAGE);
    expect(ROLE_AGENT_IMAGE).toBe(`ghcr.io/redis-gitops/redis-gitops:${PACKAGE_VERSION}`);
    expect(agent.args).toEqual(['role-agent']);
    expect(pod.serviceAccountName).toBe('sessions-role-agent');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(find('ServiceAccount', 'sessions-role-agent').automountServiceAccountToken).toBe(false);
    const token = pod.volumes.find((v: any) => v.projected);
    expect(token.projected.sources.map((s: any) => Object.keys(s)[0])).toEqual(['serviceAccountToken', 'configMap', 'downwardAPI']);
    expect(token.projected.sources[0].serviceAccountToken).toEqual({ path: 'token', expirationSeconds: 3600 });
    const mountsOf = (c: any) => (c.volumeMounts ?? []).map((m: any) => m.name);
    for (const c of [...pod.containers, ...pod.initContainers]) {
      expect(mountsOf(c).includes(token.name), c.name).toBe(c.name === 'role-agent');
    }
    expect(agent.volumeMounts).toContainEqual({ name: token.name, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true });
  });

  it('limits the Role to get and patch of the instance\'s own pods, by name', () => {
    expect(find('Role', 'sessions-role-agent').rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'], resourceNames: ['sessions-0', 'sessions-1', 'sessions-2'] },
    ]);
    expect(synth({ replicas: 5 }).find('Role', 'sessions-role-agent').rules[0].resourceNames).toHaveLength(5);
    const binding = find('RoleBinding', 'sessions-role-agent');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'sessions-role-agent' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'sessions-role-agent', namespace: 'shop' }]);
  });

  it('with auth, the role agent reads the password from a read-only file, never from env or args', () => {
    const { pod: authPod, container: c } = synth({ auth: { secretName: 'sessions-auth' } });
    const agent = c('role-agent');
    expect(agent.env.filter((e: any) => e.valueFrom?.secretKeyRef)).toEqual([]);
    expect(agent.env).toContainEqual({ name: 'REDIS_PASSWORD_FILE', value: '/etc/redis-gitops/auth/password' });
    expect(agent.volumeMounts).toContainEqual({ name: 'role-agent-auth', mountPath: '/etc/redis-gitops/auth', readOnly: true });
    expect(authPod.volumes).toContainEqual({
      name: 'role-agent-auth', secret: { secretName: 'sessions-auth', items: [{ key: 'password', path: 'password' }], defaultMode: 0o440 },
    });
  });

  it('meets restricted Pod Security in every container', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...pod.containers, ...pod.initContainers]) {
      expect(c.securityContext, c.name).toMatchObject({
        allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, privileged: false,
        readOnlyRootFilesystem: true, seccompProfile: { type: 'RuntimeDefault' },
      });
    }
    for (const v of pod.volumes) expect(Object.keys(v).filter((k) => k !== 'name'), v.name).not.toContain('hostPath');
  });

  it('without failover renders no Sentinel, no role agent and no RBAC', () => {
    const off = synth({ failover: 'none' });
    expect(off.pod.containers.map((c: any) => c.name)).toEqual(['redis', 'config-agent']);
    expect(off.objects.some((o) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind))).toBe(false);
    expect(off.find('Service').spec.ports).toHaveLength(1);
    expect(off.find('Service').spec.publishNotReadyAddresses).toBeUndefined();
    expect(off.sts.spec.podManagementPolicy).toBe('OrderedReady');
    expect(off.pod.serviceAccountName).toBeUndefined();
    expect(off.pod.terminationGracePeriodSeconds).toBe(30);
  });
});

describe('spreading replicated pods', () => {
  const preferred = {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } }],
    },
  };
  const zones = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } }];

  it('prefers one pod per node and spreads over zones by default, never required; a single pod too, so scaling restarts nothing', () => {
    for (const props of [{}, { replicas: 1 }, { replicas: 2 }, { replicas: 3, failover: 'none' as const }]) {
      const { pod } = synth(props);
      expect(pod.affinity).toEqual(preferred);
      expect(pod.topologySpreadConstraints).toEqual(zones);
    }
  });

  it('keeps the pod template when only replicas change (without failover)', () => {
    const template = (replicas: number) => JSON.stringify(synth({ replicas, failover: 'none' }).sts.spec.template);
    expect(template(1)).toBe(template(2));
    expect(template(2)).toBe(template(5));
  });

  it('takes spec.affinity and spec.topologySpreadConstraints instead; {} and [] turn the defaults off', () => {
    const required = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } }] } };
    const { pod } = synth({ affinity: required, topologySpreadConstraints: [{ maxSkew: 2, topologyKey: 'rack', whenUnsatisfiable: 'DoNotSchedule' }] });
    expect(pod.affinity).toEqual(required);
    // A constraint without a labelSelector would count no pods: it gets the instance's.
    expect(pod.topologySpreadConstraints).toEqual([{ labelSelector: { matchLabels: selector }, maxSkew: 2, topologyKey: 'rack', whenUnsatisfiable: 'DoNotSchedule' }]);
    const off = synth({ affinity: {}, topologySpreadConstraints: [] }).pod;
    expect(off.affinity).toBeUndefined();
    expect(off.topologySpreadConstraints).toBeUndefined();
  });
});
