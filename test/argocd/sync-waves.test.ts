import { describe, expect, it } from 'vitest';
import { loadAll } from 'js-yaml';
import { ApiObject, App, Chart, Testing } from 'cdk8s';
import { synthOptions } from '../../charts/main';
import {
  RedisArgoCd, SYNC_OPTIONS_ANNOTATION, SYNC_WAVES, SYNC_WAVE_ANNOTATION, applyCrdPruneProtection, applySkipDryRun, applySyncWaves,
  prepareForArgoCd,
  syncWaveForKind,
} from '../../src/argocd';
import { RedisInstanceCrd } from '../../src/constructs/crd';
import { RedisInstance } from '../../src/constructs/redis-instance';
import { synthesize } from '../../src/synth';

const wave = (obj: any) => obj.metadata?.annotations?.[SYNC_WAVE_ANNOTATION];
const docs = (files: Map<string, string>) => [...files].flatMap(([file, text]) => (loadAll(text) as any[]).map((o) => ({ file, o })));

/** A platform like the one the reconciler chart will add: ServiceAccount, RBAC, CronJob. */
function reconcilerLike(chart: Chart) {
  const objects: Array<[string, string, string]> = [
    ['v1', 'ServiceAccount', 'redis-reconciler'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'redis-reconciler'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'redis-reconciler'],
    ['rbac.authorization.k8s.io/v1', 'Role', 'redis-reconciler-secrets'],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'redis-reconciler-secrets'],
    ['batch/v1', 'CronJob', 'redis-reconciler'],
  ];
  for (const [apiVersion, kind, name] of objects) {
    new ApiObject(chart, `${kind}-${name}`, { apiVersion, kind, metadata: { name, namespace: 'redis-system' } });
  }
}

describe('sync waves', () => {
  it('are on every object of this repository\'s dist/', () => {
    const { files, issues } = synthesize(synthOptions);
    expect(issues).toEqual([]);
    const missing = docs(files).filter(({ o }) => !/^-?\d+$/.test(wave(o) ?? '')).map(({ file, o }) => `${file}: ${o.kind} ${o.metadata.name}`);
    expect(missing).toEqual([]);
  });

  it('order: CRD, then the reconciler\'s RBAC, then its CronJob, then RedisInstances, then their children', () => {
    const { files, issues } = synthesize({
      define: (app) => {
        new RedisInstanceCrd(new Chart(app, 'crds'), 'crd');
        reconcilerLike(new Chart(app, 'reconciler'));
        new RedisInstance(new Chart(app, 'ts'), 'sessions', { namespace: 'shop', image: 'redis:7.2.4-alpine', replicas: 3 });
      },
      instanceDirs: [`${__dirname}/../../charts/instances`],
      finalize: prepareForArgoCd,
    });
    expect(issues).toEqual([]);
    const byKind = new Map<string, Set<number>>();
    // The instance's own RBAC (its role agents') goes with its children; keyed apart here.
    const kindOf = (o: any) => (o.metadata.namespace === 'shop' && ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind) ? `sessions ${o.kind}` : o.kind);
    for (const { o } of docs(files)) byKind.set(kindOf(o), new Set([...(byKind.get(kindOf(o)) ?? []), Number(wave(o))]));
    const only = (kind: string) => {
      const waves = [...(byKind.get(kind) ?? [])];
      expect(waves, kind).toHaveLength(1);
      return waves[0];
    };
    expect(only('CustomResourceDefinition')).toBe(SYNC_WAVES.prerequisites);
    for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']) expect(only(kind)).toBe(SYNC_WAVES.access);
    expect(only('CronJob')).toBe(SYNC_WAVES.reconciler);
    expect(only('RedisInstance')).toBe(SYNC_WAVES.instances);
    for (const kind of ['ConfigMap', 'Service', 'StatefulSet', 'PodDisruptionBudget', 'sessions ServiceAccount', 'sessions Role', 'sessions RoleBinding']) {
      expect(only(kind)).toBe(SYNC_WAVES.instanceChildren);
    }
    expect(SYNC_WAVES.prerequisites).toBeLessThan(SYNC_WAVES.access);
    expect(SYNC_WAVES.access).toBeLessThan(SYNC_WAVES.reconciler);
    expect(SYNC_WAVES.reconciler).toBeLessThan(SYNC_WAVES.instances);
    expect(SYNC_WAVES.instances).toBeLessThan(SYNC_WAVES.instanceChildren);
  });

  it('by kind outside instances: ConfigMaps and Secrets with the RBAC, unknown kinds at Argo CD\'s default 0', () => {
    expect(syncWaveForKind('ConfigMap')).toBe(SYNC_WAVES.access);
    expect(syncWaveForKind('Secret')).toBe(SYNC_WAVES.access);
    expect(syncWaveForKind('Namespace')).toBe(SYNC_WAVES.prerequisites);
    expect(syncWaveForKind('NetworkPolicy')).toBe(0);
  });

  it('keep a wave that is already set, and annotate each object once', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    const explicit = new ApiObject(chart, 'np', {
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np', annotations: { [SYNC_WAVE_ANNOTATION]: '5' } },
    });
    const r = new RedisInstance(chart, 'cache', { namespace: 'web', image: 'redis:7.2.4-alpine' });
    expect(applySyncWaves(app)).toHaveLength(r.apiObjects.length);
    expect(applySyncWaves(app)).toEqual([]);
    expect(wave(explicit.toJson())).toBe('5');
    expect(wave(r.instance.toJson())).toBe('0');
    expect(wave(r.statefulSet.toJson())).toBe('1');
  });
});

describe('SkipDryRunOnMissingResource', () => {
  const instanceAnnotations = (app: App) => app.node.findAll().filter(RedisInstance.isRedisInstance)
    .map((r) => r.instance.toJson().metadata.annotations?.[SYNC_OPTIONS_ANNOTATION]);

  it('is set on every RedisInstance, keeping options already there, once', () => {
    const app = Testing.app();
    new RedisInstance(new Chart(app, 'a'), 'cache', { namespace: 'web', image: 'redis:7.2.4-alpine' });
    new RedisInstance(new Chart(app, 'b'), 'sessions', {
      namespace: 'shop', image: 'redis:7.2.4-alpine', annotations: { [SYNC_OPTIONS_ANNOTATION]: 'Validate=false' },
    });
    expect(applySkipDryRun(app)).toHaveLength(2);
    expect(applySkipDryRun(app)).toEqual([]);
    expect(instanceAnnotations(app)).toEqual(['SkipDryRunOnMissingResource=true', 'Validate=false,SkipDryRunOnMissingResource=true']);
  });

  it('is in this repository\'s dist/ on every RedisInstance', () => {
    const instances = docs(synthesize(synthOptions).files).filter(({ o }) => o.kind === 'RedisInstance');
    expect(instances.length).toBeGreaterThan(0);
    for (const { o } of instances) expect(o.metadata.annotations[SYNC_OPTIONS_ANNOTATION]).toBe('SkipDryRunOnMissingResource=true');
  });
});

describe('the RedisInstance CRD', () => {
  it('is never pruned by Argo CD (Prune=false): deleting it would delete every RedisInstance', () => {
    const app = Testing.app();
    const crd = new RedisInstanceCrd(new Chart(app, 'crds'), 'crd');
    expect(applyCrdPruneProtection(app)).toEqual([crd]);
    expect(applyCrdPruneProtection(app)).toEqual([]);
    expect(crd.toJson().metadata.annotations).toEqual({ [SYNC_OPTIONS_ANNOTATION]: 'Prune=false' });
    const [crdInDist] = docs(synthesize(synthOptions).files).filter(({ o }) => o.kind === 'CustomResourceDefinition');
    expect(crdInDist.o.metadata.annotations).toEqual({ [SYNC_OPTIONS_ANNOTATION]: 'Prune=false', [SYNC_WAVE_ANNOTATION]: '-3' });
  });
});

describe('prepareForArgoCd at app.synth()', () => {
  it('runs by itself when the app has a RedisArgoCd chart (cdk8s validates before it renders)', () => {
    const app = Testing.app();
    new RedisInstanceCrd(new Chart(app, 'crds'), 'crd');
    const chart = new Chart(app, 'cache');
    new RedisInstance(chart, 'cache', { namespace: 'web', image: 'redis:7.2.4-alpine' });
    new RedisArgoCd(app, 'argocd', { repoURL: 'https://git.example.com/p.git' });
    const objects = Testing.synth(chart);
    expect(objects.map(wave)).toEqual(['0', '1', '1', '1', '1']);
    expect(objects[0].metadata.annotations[SYNC_OPTIONS_ANNOTATION]).toBe('SkipDryRunOnMissingResource=true');
  });
});
