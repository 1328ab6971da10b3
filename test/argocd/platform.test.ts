import { describe, expect, it } from 'vitest';
import { loadAll } from 'js-yaml';
import { Chart, Testing } from 'cdk8s';
import { RedisArgoCd, prepareForArgoCd } from '../../src/argocd';
import { RedisPlatform, namespacesWithAuth } from '../../src/constructs/platform';
import { RedisInstance } from '../../src/constructs/redis-instance';
import { synthesize } from '../../src/synth';

const repoURL = 'https://git.example.com/platform/redis.git';

describe('RedisPlatform', () => {
  it('defaults: the CRD and the reconciler in its own chart, no Argo CD objects', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'platform');
    const platform = new RedisPlatform(chart, 'redis');
    expect(platform.argoCd).toBeUndefined();
    expect(platform.reconciler?.secretNamespaces).toEqual([]);
    expect(Testing.synth(chart).map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      'CustomResourceDefinition redisinstances.redis.github.com',
      'ServiceAccount redis-gitops-reconciler',
      'ClusterRole redis-gitops-reconciler',
      'ClusterRoleBinding redis-gitops-reconciler',
      'Role redis-gitops-reconciler-lease',
      'RoleBinding redis-gitops-reconciler-lease',
      'CronJob redis-gitops-reconciler',
    ]);
    expect(app.node.children.map((c) => c.node.id)).toEqual(['platform']);
  });

  it('reconciler: false leaves it out; secretNamespaces come from namespacesWithAuth', () => {
    const app = Testing.app();
    const instances = new Chart(app, 'instances');
    new RedisInstance(instances, 'a', { namespace: 'shop', image: 'redis:7', auth: { secretName: 'pw' } });
    new RedisInstance(instances, 'b', { namespace: 'web', image: 'redis:7' });
    new RedisInstance(instances, 'c', { namespace: 'shop', image: 'redis:7', auth: { secretName: 'pw2' } });
    expect(namespacesWithAuth(app)).toEqual(['shop']);
    const withoutReconciler = new RedisPlatform(new Chart(app, 'p1'), 'redis', { reconciler: false });
    expect(withoutReconciler.reconciler).toBeUndefined();
    const platform = new RedisPlatform(new Chart(app, 'p2'), 'redis', { reconciler: { secretNamespaces: namespacesWithAuth(app) } });
    expect(platform.reconciler?.secretRoles.map((r) => r.namespace)).toEqual(['shop']);
  });

  it('argoCd: a chart of its own at the root of the app, so its file is separate and skipped by the Application', () => {
    const { files, issues } = synthesize({
      define: (app) => {
        new RedisPlatform(new Chart(app, 'platform'), 'redis', { argoCd: { repoURL, targetRevision: 'main' } });
        new RedisInstance(new Chart(app, 'cache'), 'cache', { namespace: 'web', image: 'redis:7.2.4-alpine' });
      },
      finalize: prepareForArgoCd,
    });
    expect(issues).toEqual([]);
    expect([...files.keys()]).toEqual(['argocd.yaml', 'instances/web/cache.yaml', 'platform.yaml']);
    const [cm, application] = loadAll(files.get('argocd.yaml')!) as any[];
    expect(cm.metadata.name).toBe('argocd-cm');
    expect(application.spec.source).toEqual({ repoURL, targetRevision: 'main', path: 'dist', directory: { recurse: true, exclude: 'argocd*' } });
    const [crd] = loadAll(files.get('platform.yaml')!) as any[];
    expect(crd.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-3');
    const [instance] = loadAll(files.get('instances/web/cache.yaml')!) as any[];
    expect(instance.metadata.annotations).toEqual({
      'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true', 'argocd.argoproj.io/sync-wave': '0',
    });
  });

  it('crd: false leaves the CRD to someone else; chartId names the Argo CD chart', () => {
    const app = Testing.app();
    const platform = new RedisPlatform(new Chart(app, 'platform'), 'redis', { crd: false, argoCd: { repoURL, chartId: 'argocd-prod', layout: 'app-of-apps' } });
    expect(platform.crd).toBeUndefined();
    expect(RedisArgoCd.isRedisArgoCd(platform.argoCd)).toBe(true);
    expect(app.node.children.map((c) => c.node.id)).toEqual(['platform', 'argocd-prod', 'argocd-prod-apps']);
    const [, root] = Testing.synth(platform.argoCd!);
    expect(root.spec.source.directory).toEqual({ recurse: false, include: 'argocd-prod-apps.*' });
  });
});
