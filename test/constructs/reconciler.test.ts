import { describe, expect, it } from 'vitest';
import { Testing } from 'cdk8s';
import { DEFAULT_RECONCILER_RESOURCES, RECONCILER_UID, RedisReconciler, type RedisReconcilerProps } from '../../src/constructs/reconciler';
import { RECONCILER_PERMISSIONS, reconcilerPermissions } from '../../src/reconcile/permissions';
import { PACKAGE_VERSION } from '../../src/version';

function synth(props: RedisReconcilerProps = {}) {
  const chart = Testing.chart();
  const reconciler = new RedisReconciler(chart, 'reconciler', props);
  const objects: any[] = Testing.synth(chart);
  const find = (kind: string, name?: string, namespace?: string) => objects.find((o) => o.kind === kind
    && (name === undefined || o.metadata.name === name) && (namespace === undefined || o.metadata.namespace === namespace));
  const cronJob = find('CronJob');
  const pod = cronJob.spec.jobTemplate.spec.template.spec;
  return { reconciler, objects, find, cronJob, pod, container: pod.containers[0] };
}

describe('RedisReconciler construct', () => {
  it('renders the defaults (snapshot; the package version stands in as <version>)', () => {
    expect(JSON.parse(JSON.stringify(synth().objects).split(`:${PACKAGE_VERSION}"`).join(':<version>"'))).toMatchSnapshot();
  });

  it('renders a ServiceAccount, ClusterRole(+Binding), the Lease Role(+Binding) and the CronJob, with stable names', () => {
    expect(synth().objects.map((o) => `${o.kind}/${o.metadata.namespace ?? '-'}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/redis-gitops/redis-gitops-reconciler',
      'ClusterRole/-/redis-gitops-reconciler',
      'ClusterRoleBinding/-/redis-gitops-reconciler',
      'Role/redis-gitops/redis-gitops-reconciler-lease',
      'RoleBinding/redis-gitops/redis-gitops-reconciler-lease',
      'CronJob/redis-gitops/redis-gitops-reconciler',
    ]);
  });

  it('schedules every 5 minutes, never two at once, with deadlines and history limits', () => {
    const { cronJob } = synth();
    expect(cronJob.spec).toMatchObject({
      schedule: '*/5 * * * *', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 120, successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 3,
    });
    expect(cronJob.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 1, activeDeadlineSeconds: 240 });
    expect(cronJob.spec.jobTemplate.spec.template.spec.restartPolicy).toBe('Never');
  });

  it('runs reconcile -A -o json with POD_NAMESPACE from the downward API, in the package-version image', () => {
    const { container, pod } = synth();
    expect(container.image).toBe(`ghcr.io/redis-gitops/redis-gitops:${PACKAGE_VERSION}`);
    expect(container.args).toEqual(['reconcile', '-A', '-o', 'json']);
    expect(container.env).toEqual([
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=288 --max-semi-space-size=2' },
      { name: 'MALLOC_ARENA_MAX', value: '2' },
    ]);
    expect(pod.serviceAccountName).toBe('redis-gitops-reconciler');
  });

  it('meets Pod Security "restricted"', () => {
    const { container, pod } = synth();
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: RECONCILER_UID, runAsGroup: RECONCILER_UID, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.volumes ?? []).toEqual([]);
  });

  it('sizes the container from the bench figures', () => {
    expect(synth().container.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '384Mi' } });
    expect(DEFAULT_RECONCILER_RESOURCES.limits!.memory).toBe('384Mi');
  });

  describe('RBAC: exactly the calls the reconciler makes, no wildcards', () => {
    it('the ClusterRole is the cluster-scoped part of RECONCILER_PERMISSIONS, rule for rule', () => {
      const { find } = synth();
      const expected = RECONCILER_PERMISSIONS.filter((p) => p.scope === 'cluster').map((p) => ({ apiGroups: [p.group], resources: [p.resource], verbs: [...p.verbs] }));
      expect(find('ClusterRole').rules).toEqual(expected);
      const all = JSON.stringify(synth().objects.filter((o) => /Role$/.test(o.kind)));
      expect(all).not.toContain('"*"');
      expect(all).not.toContain('cluster-admin');
      expect(find('ClusterRole').rules.some((r: any) => r.resources.includes('secrets'))).toBe(false);
    });

    it('no rule deletes claims or pods, nor writes Secrets', () => {
      const rules = synth({ secretNamespaces: ['shop'] }).objects.filter((o) => /Role$/.test(o.kind)).flatMap((o) => o.rules);
      for (const rule of rules) {
        if (rule.resources.some((r: string) => ['persistentvolumeclaims', 'pods'].includes(r))) expect(rule.verbs).not.toContain('delete');
        if (rule.resources.includes('secrets')) expect(rule.verbs).toEqual(['list']);
      }
    });

    it('the Lease Role is limited to its namespace, and to the Lease by name for get/update', () => {
      const { find } = synth({ leaseName: 'my-lease', namespace: 'ops' });
      expect(find('Role', 'redis-gitops-reconciler-lease', 'ops').rules).toEqual([
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: ['my-lease'] },
      ]);
      expect(find('RoleBinding', 'redis-gitops-reconciler-lease', 'ops').subjects).toEqual([{ kind: 'ServiceAccount', name: 'redis-gitops-reconciler', namespace: 'ops' }]);
      expect(find('CronJob').spec.jobTemplate.spec.template.spec.containers[0].args).toEqual(['reconcile', '-A', '-o', 'json', '--lease-name', 'my-lease']);
      expect(reconcilerPermissions('my-lease').find((p) => p.resourceNames)!.resourceNames).toEqual(['my-lease']);
    });

    it('Secrets are readable only in secretNamespaces, one Role and RoleBinding each', () => {
      const { objects } = synth({ secretNamespaces: ['team-b', 'team-a', 'team-b'] });
      const secretRoles = objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'redis-gitops-reconciler-secrets');
      expect(secretRoles.map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
      for (const role of secretRoles) expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }]);
      const bindings = objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'redis-gitops-reconciler-secrets');
      expect(bindings.map((b) => [b.metadata.namespace, b.roleRef.name, b.subjects[0].namespace])).toEqual([
        ['team-a', 'redis-gitops-reconciler-secrets', 'redis-gitops'], ['team-b', 'redis-gitops-reconciler-secrets', 'redis-gitops'],
      ]);
    });
  });

  describe('props', () => {
    it('namespace, name, image, schedule, resources, activeDeadlineSeconds', () => {
      const { objects, cronJob, container, reconciler } = synth({
        namespace: 'ops', name: 'rg', image: 'registry.local/rg:dev', schedule: '0 * * * *',
        resources: { requests: { cpu: '50m', memory: '128Mi' } }, activeDeadlineSeconds: 600,
      });
      expect(objects.filter((o) => o.metadata.namespace).every((o) => o.metadata.namespace === 'ops')).toBe(true);
      expect(cronJob.metadata.name).toBe('rg');
      expect(cronJob.spec.schedule).toBe('0 * * * *');
      expect(cronJob.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(600);
      expect(container.args).toEqual(['reconcile', '-A', '-o', 'json', '--pass-timeout', '560']);
      expect(container.image).toBe('registry.local/rg:dev');
      expect(container.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' } });
      expect(container.env.map((e: any) => e.name)).toEqual(['POD_NAMESPACE', 'MALLOC_ARENA_MAX']);
      expect(reconciler.leaseName).toBe('redis-gitops-reconciler');
    });

    it('refuses a non-positive activeDeadlineSeconds, naming the construct', () => {
      expect(() => synth({ activeDeadlineSeconds: 0 })).toThrow(/reconciler: activeDeadlineSeconds must be positive/);
    });
  });
});
