import { describe, expect, it } from 'vitest';
import { loadAll } from 'js-yaml';
import { Chart, Testing } from 'cdk8s';
import { TRACKING_METHOD_KEY } from '../../src/argocd/config-patch';
import {
  APPLICATION_HEALTH_KEY, ArgoCdApplication, DEFAULT_RETRY, RECONCILER_IGNORE_DIFFERENCES, RECONCILER_SECRET_HASH_ANNOTATION,
  REDIS_INSTANCE_HEALTH_KEY, RedisArgoCd, prepareForArgoCd,
} from '../../src/argocd';
import { RedisInstance } from '../../src/constructs/redis-instance';
import { SECRET_HASH_ANNOTATION } from '../../src/reconcile/desired';
import { synthesize } from '../../src/synth';

const repoURL = 'https://git.example.com/platform/redis.git';

function application(props: Partial<ConstructorParameters<typeof ArgoCdApplication>[2]> = {}) {
  const chart = new Chart(Testing.app(), 'c');
  return new ArgoCdApplication(chart, 'redis', { repoURL, ...props }).apiObject.toJson();
}

describe('ArgoCdApplication', () => {
  it('defaults: automated prune and selfHeal, retries, RespectIgnoreDifferences with the reconciler\'s fields', () => {
    expect(application()).toEqual({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'redis', namespace: 'argocd', annotations: { 'argocd.argoproj.io/sync-wave': '0' } },
      spec: {
        project: 'default',
        source: { repoURL, targetRevision: 'HEAD', path: 'dist', directory: { recurse: true } },
        destination: { server: 'https://kubernetes.default.svc' },
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions: ['RespectIgnoreDifferences=true', 'PruneLast=true'],
          retry: { limit: 10, backoff: { duration: '30s', factor: 2, maxDuration: '5m' } },
        },
        ignoreDifferences: JSON.parse(JSON.stringify(RECONCILER_IGNORE_DIFFERENCES)),
      },
    });
    expect(DEFAULT_RETRY.limit).toBe(10);
  });

  it('ignores exactly what the reconciler owns at run time', () => {
    expect(RECONCILER_IGNORE_DIFFERENCES).toEqual([
      { group: 'apps', kind: 'StatefulSet', jsonPointers: ['/spec/template/metadata/annotations/redis.github.com~1secret-hash', '/metadata/ownerReferences'] },
      { group: '', kind: 'ConfigMap', jsonPointers: ['/metadata/ownerReferences'] },
      { group: '', kind: 'Service', jsonPointers: ['/metadata/ownerReferences'] },
      { group: 'policy', kind: 'PodDisruptionBudget', jsonPointers: ['/metadata/ownerReferences'] },
      { group: 'redis.github.com', kind: 'RedisInstance', jsonPointers: ['/status'] },
    ]);
  });

  it('uses the reconciler\'s own name for the secret-hash annotation', () => {
    expect(RECONCILER_SECRET_HASH_ANNOTATION).toBe(SECRET_HASH_ANNOTATION);
    expect(SECRET_HASH_ANNOTATION).toBe('redis.github.com/secret-hash');
  });

  it('createNamespace adds CreateNamespace=true and needs a destination namespace', () => {
    expect(application({ createNamespace: true, destination: { namespace: 'redis' } }).spec.syncPolicy.syncOptions)
      .toEqual(['CreateNamespace=true', 'RespectIgnoreDifferences=true', 'PruneLast=true']);
    expect(() => application({ createNamespace: true })).toThrow(/c\/redis: createNamespace needs destination.namespace/);
  });

  it('automated: false, retry: false and no ignoreDifferences drop those parts', () => {
    const spec = application({ automated: false, retry: false, ignoreDifferences: [], syncOptions: ['ServerSideApply=true'] }).spec;
    expect(spec.syncPolicy).toEqual({ syncOptions: ['PruneLast=true', 'ServerSideApply=true'] });
    expect(spec.ignoreDifferences).toBeUndefined();
  });

  it('prune and selfHeal can be turned off', () => {
    expect(application({ prune: false, selfHeal: false }).spec.syncPolicy.automated).toEqual({ prune: false, selfHeal: false });
  });

  it('destination: a registered cluster by name, or a server, not both', () => {
    expect(application({ destination: { name: 'prod', namespace: 'redis' } }).spec.destination).toEqual({ name: 'prod', namespace: 'redis' });
    expect(() => application({ destination: { name: 'prod', server: 'https://x' } })).toThrow(/server or destination.name, not both/);
  });

  it('cascadeDelete adds the resources finalizer; name, namespace, project, revision, path and wave are set', () => {
    const app = application({
      cascadeDelete: true, name: 'r', namespace: 'gitops', project: 'p', targetRevision: 'v1', path: 'x/dist', syncWave: -1, labels: { a: 'b' },
    });
    expect(app.metadata).toEqual({
      name: 'r', namespace: 'gitops', labels: { a: 'b' }, annotations: { 'argocd.argoproj.io/sync-wave': '-1' },
      finalizers: ['resources-finalizer.argocd.argoproj.io'],
    });
    expect(app.spec.project).toBe('p');
    expect(app.spec.source).toMatchObject({ targetRevision: 'v1', path: 'x/dist' });
  });

  it('refuses a missing repoURL', () => {
    expect(() => application({ repoURL: '' })).toThrow(/repoURL is required/);
  });
});

function synthArgo(props: Partial<ConstructorParameters<typeof RedisArgoCd>[2]>) {
  const { files, issues } = synthesize({
    define: (app) => {
      const chart = new Chart(app, 'ts');
      new RedisInstance(chart, 'cache', { namespace: 'web', image: 'redis:7.2.4-alpine' });
      new RedisInstance(chart, 'sessions', { namespace: 'shop', image: 'redis:7.2.4-alpine' });
      new RedisInstance(chart, 'carts', { namespace: 'shop', image: 'redis:7.2.4-alpine' });
      new RedisArgoCd(app, 'argocd', { repoURL, ...props });
    },
    finalize: prepareForArgoCd,
  });
  expect(issues).toEqual([]);
  return files;
}

describe('RedisArgoCd', () => {
  it('single layout: dist/argocd.yaml holds the argocd-cm patch and one Application that skips argocd*', () => {
    const files = synthArgo({});
    expect([...files.keys()].filter((f) => f.startsWith('argocd'))).toEqual(['argocd.yaml']);
    const [cm, app] = loadAll(files.get('argocd.yaml')!) as any[];
    expect(cm.metadata).toEqual({
      name: 'argocd-cm', namespace: 'argocd',
      labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' },
      annotations: { 'argocd.argoproj.io/sync-wave': '-3' },
    });
    expect(Object.keys(cm.data)).toEqual([TRACKING_METHOD_KEY, REDIS_INSTANCE_HEALTH_KEY]);
    // Label tracking would overwrite app.kubernetes.io/instance, part of our selectors.
    expect(cm.data[TRACKING_METHOD_KEY]).toBe('annotation');
    expect(app.metadata.name).toBe('redis-gitops');
    expect(app.spec.source.directory).toEqual({ recurse: true, exclude: 'argocd*' });
  });

  it('app-of-apps: a root that reads argocd-apps.*, a platform child, one child per instance namespace', () => {
    const files = synthArgo({ layout: 'app-of-apps', createNamespace: true, destinationNamespace: 'redis-system' });
    const [cm, root] = loadAll(files.get('argocd.yaml')!) as any[];
    expect(Object.keys(cm.data).sort()).toEqual([TRACKING_METHOD_KEY, APPLICATION_HEALTH_KEY, REDIS_INSTANCE_HEALTH_KEY].sort());
    expect(root.spec.source.directory).toEqual({ recurse: false, include: 'argocd-apps.*' });
    expect(root.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'argocd' });
    expect(root.spec.ignoreDifferences).toBeUndefined();

    const children = loadAll(files.get('argocd-apps.yaml')!) as any[];
    const summary = children.map((a) => ({
      name: a.metadata.name, wave: a.metadata.annotations['argocd.argoproj.io/sync-wave'], finalizers: a.metadata.finalizers,
      path: a.spec.source.path, directory: a.spec.source.directory, destination: a.spec.destination,
      createNamespace: a.spec.syncPolicy.syncOptions.includes('CreateNamespace=true'),
    }));
    expect(summary).toEqual([
      {
        name: 'redis-gitops-platform', wave: '-1', finalizers: undefined, path: 'dist', directory: { recurse: false, exclude: 'argocd*' },
        destination: { server: 'https://kubernetes.default.svc', namespace: 'redis-system' }, createNamespace: false,
      },
      {
        name: 'redis-gitops-ns-shop', wave: '0', finalizers: ['resources-finalizer.argocd.argoproj.io'], path: 'dist/instances/shop',
        directory: { recurse: true }, destination: { server: 'https://kubernetes.default.svc', namespace: 'shop' }, createNamespace: true,
      },
      {
        name: 'redis-gitops-ns-web', wave: '0', finalizers: ['resources-finalizer.argocd.argoproj.io'], path: 'dist/instances/web',
        directory: { recurse: true }, destination: { server: 'https://kubernetes.default.svc', namespace: 'web' }, createNamespace: true,
      },
    ]);
    for (const child of children) expect(child.spec.ignoreDifferences).toEqual(JSON.parse(JSON.stringify(RECONCILER_IGNORE_DIFFERENCES)));
    // The per-namespace paths are the files synthesize() writes.
    expect([...files.keys()].filter((f) => f.startsWith('instances/'))).toEqual([
      'instances/shop/carts.yaml', 'instances/shop/sessions.yaml', 'instances/web/cache.yaml',
    ]);
  });

  it('app-of-apps follows path, instancesPath, prune and the destination cluster', () => {
    const files = synthArgo({ layout: 'app-of-apps', path: 'deploy', instancesPath: 'redis', prune: false, destinationName: 'eu-1' });
    const children = loadAll(files.get('argocd-apps.yaml')!) as any[];
    expect(children.map((a) => [a.spec.source.path, a.spec.destination, a.metadata.finalizers, a.spec.syncPolicy.automated])).toEqual([
      ['deploy', { name: 'eu-1' }, undefined, { prune: false, selfHeal: true }],
      ['deploy/redis/shop', { name: 'eu-1', namespace: 'shop' }, undefined, { prune: false, selfHeal: true }],
      ['deploy/redis/web', { name: 'eu-1', namespace: 'web' }, undefined, { prune: false, selfHeal: true }],
    ]);
  });

  it('namespace applications only exist in app-of-apps', () => {
    const argo = new RedisArgoCd(Testing.app(), 'argocd', { repoURL });
    expect(() => argo.addNamespaceApplication('web')).toThrow(/need layout 'app-of-apps'/);
  });
});
