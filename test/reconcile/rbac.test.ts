import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECONCILER_PERMISSIONS, type ApiVerb } from '../../src/reconcile/permissions';
import { startHarness, type Harness } from './harness';

/**
 * Every RBAC rule corresponds to a call the reconciler makes, and every call it makes is
 * granted: drive it through scenarios that use each path, and read the request log.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ autoReadyPods: true });
});
afterAll(async () => {
  await h.stop();
});

/** (group, resource[/subresource], verb) of one request, as the apiserver's authorizer sees it. */
function attributes(method: string, path: string): string {
  const parts = path.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  const group = parts[0] === 'api' ? '' : parts[1];
  const scoped = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  const [resource, name, subresource] = scoped;
  const verb = ({ GET: name ? 'get' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, ApiVerb>)[method];
  return `${group}|${subresource ? `${resource}/${subresource}` : resource}|${verb}`;
}

describe('RBAC matches the calls', () => {
  it('exercises every granted verb and nothing else', async () => {
    const image = 'redis:7.2.4-alpine';
    const log: string[] = [];
    const pass = async () => {
      h.server.resetRequestLog();
      const result = await h.reconcile();
      expect(result.err.filter((e) => e.startsWith('error'))).toEqual([]);
      log.push(...h.server.requests.map((r) => attributes(r.method, r.path)));
      return result;
    };
    h.server.create({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'x', allowVolumeExpansion: true });
    h.server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'auth', namespace: 'web' }, stringData: { password: 'p' } });
    // An unlabelled ConfigMap of the same name: create → 409 → GETs by name → adopt with a patch.
    h.server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cache', namespace: 'web' }, data: {} });
    h.instance('web', 'cache', { image, replicas: 3, auth: { secretName: 'auth' } });
    await pass();
    h.server.settle();
    await pass();
    const pdb = h.get('PodDisruptionBudget', 'web', 'cache');
    h.server.update({ ...pdb, spec: { ...pdb.spec, maxUnavailable: 2 } });
    const svc = h.get('Service', 'web', 'cache');
    h.server.update({ ...svc, spec: { ...svc.spec, selector: { x: 'y' } } });
    const ri = h.get('RedisInstance', 'web', 'cache');
    h.server.update({ ...ri, spec: { ...ri.spec, storage: { size: '2Gi' } } });
    await pass();
    h.server.settle();
    // Failover: four pods (the Role's resourceNames grow), drifted RBAC, and two pods labelled
    // primary of which only one is ready (the backstop relabels the other).
    const ri3 = h.get('RedisInstance', 'web', 'cache');
    h.server.update({ ...ri3, spec: { ...ri3.spec, replicas: 4 } });
    const sa = h.get('ServiceAccount', 'web', 'cache-role-agent');
    h.server.update({ ...sa, automountServiceAccountToken: true });
    const rb = h.get('RoleBinding', 'web', 'cache-role-agent');
    h.server.update({ ...rb, subjects: [] });
    for (const [pod, ready] of [['cache-0', true], ['cache-1', false]] as const) {
      const p = h.get('Pod', 'web', pod);
      h.server.update({ ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, 'redis.github.com/role': 'primary' } } });
      h.server.setPodReady('web', pod, ready);
    }
    await pass();
    expect(h.get('Pod', 'web', 'cache-1').metadata.labels['redis.github.com/role']).toBe('replica');
    h.server.settle();
    const ri2 = h.get('RedisInstance', 'web', 'cache');
    h.server.update({ ...ri2, spec: { ...ri2.spec, replicas: 1 } });
    await pass();

    const used = new Set(log);
    // Rules held only so the reconciler may grant them (pods get, for the role agents) are never called.
    const granted = new Set(RECONCILER_PERMISSIONS.filter((p) => !p.heldToGrant).flatMap((p) => p.verbs.map((v) => `${p.group}|${p.resource}|${v}`)));
    expect(RECONCILER_PERMISSIONS.filter((p) => p.heldToGrant).map((p) => `${p.resource} ${p.verbs}`)).toEqual(['pods get']);
    expect([...used].filter((u) => !granted.has(u))).toEqual([]);
    expect([...granted].filter((g) => !used.has(g))).toEqual([]);
  });
});

describe('the role agents\' Roles', () => {
  it('grant nothing the reconciler does not hold itself (RBAC lets it create only such Roles)', async () => {
    const { validateRedisInstance } = await import('../../src/api/validate');
    const { renderRole } = await import('../../src/render/instance');
    const instance = validateRedisInstance({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', metadata: { name: 'cache' }, spec: { image: 'redis:7', replicas: 3 } }).instance!;
    const held = (group: string, resource: string, verb: string) => RECONCILER_PERMISSIONS.some((p) => p.scope === 'cluster' && p.group === group && p.resource === resource && (p.verbs as readonly string[]).includes(verb));
    const rules = renderRole(instance).rules!;
    expect(rules.flatMap((r) => r.verbs)).toEqual(['get', 'patch']);
    for (const rule of rules) {
      for (const group of rule.apiGroups!) for (const resource of rule.resources!) for (const verb of rule.verbs) {
        expect(held(group, resource, verb), `${group}/${resource} ${verb}`).toBe(true);
      }
    }
  });
});
