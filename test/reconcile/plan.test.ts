import { describe, expect, it } from 'vitest';
import { SECRET_HASH_ANNOTATION } from '../../src/reconcile/desired';
import { claimName, instanceClaims, plan, planWrites, type Action, type ChildWrite, type LiveState, type Reason } from '../../src/reconcile/plan';
import { CONFIG_HASH_ANNOTATION, TEMPLATE_HASH_ANNOTATION } from '../../src/render/instance';
import type { RedisInstanceSpec } from '../../src/api/types';
import { UID, claim, desired, liveFor, storageClass } from './fixtures';

const base: RedisInstanceSpec = { image: 'redis:7.2.4-alpine', replicas: 1, storage: { size: '1Gi' } };

/** Live state in sync with `from`, then changed by `mutate`; planned against `to`. */
function planned(to: RedisInstanceSpec, options: { from?: RedisInstanceSpec; mutate?: (live: ReturnType<typeof liveFor>) => void; claims?: Parameters<typeof liveFor>[1]; secretHash?: string } = {}) {
  const live = liveFor(desired(options.from ?? to, { secretHash: options.secretHash }), options.claims);
  options.mutate?.(live);
  return plan(desired(to, { secretHash: options.secretHash }), live);
}

const sts = (live: LiveState) => live.statefulSet as any;

const STS = 'StatefulSet/cache';
const VCT = 'spec.volumeClaimTemplates[redis-data].spec';
const SECRET_FIELD = `spec.template.metadata.annotations[${SECRET_HASH_ANNOTATION}]`;

/** The rendered StatefulSet of `spec`. */
const rendered = (spec: RedisInstanceSpec, ctx: { secretHash?: string } = {}) => desired(spec, ctx).objects.statefulSet;
const hashOf = (spec: RedisInstanceSpec) => rendered(spec).metadata!.annotations![TEMPLATE_HASH_ANNOTATION];
const configHashOf = (spec: RedisInstanceSpec) => rendered(spec).spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION];
/** The patch of a template change: the whole template and the new template hash. */
const templatePatch = (spec: RedisInstanceSpec, extra: { labels?: Record<string, string> } = {}) => ({
  metadata: { annotations: { [TEMPLATE_HASH_ANNOTATION]: hashOf(spec) }, ...(extra.labels ? { labels: extra.labels } : {}) },
  spec: { template: rendered(spec).spec!.template },
});

interface Row {
  name: string;
  to: RedisInstanceSpec;
  from?: RedisInstanceSpec;
  mutate?: (live: ReturnType<typeof liveFor>) => void;
  claims?: Parameters<typeof liveFor>[1];
  secretHash?: string;
  action: Action;
  reasons: Reason[];
  /** The StatefulSet's merge patch (rolling-update only). */
  patch?: object;
}

describe('plan: the decision table', () => {
  const image = { ...base, image: 'redis:7.4.1-alpine' };
  const resources = { ...base, resources: { limits: { cpu: '500m' } } };
  const config = { ...base, config: { maxmemory: '100mb' } };
  const rows: Row[] = [
    { name: 'nothing differs', to: base, action: 'none', reasons: [] },
    { name: 'StatefulSet missing', to: base, mutate: (l) => { (l as any).statefulSet = undefined; }, action: 'create', reasons: [{ object: STS, field: '', to: 'created' }] },
    {
      name: 'replicas', to: { ...base, replicas: 3, failover: 'none' }, from: base, claims: { count: 1 }, action: 'rolling-update',
      reasons: [{ object: STS, field: 'spec.replicas', from: 1, to: 3 }], patch: { spec: { replicas: 3 } },
    },
    {
      name: 'image', to: image, from: base, action: 'rolling-update',
      reasons: [
        { object: STS, field: 'spec.template.spec.containers[redis].image', from: 'redis:7.2.4-alpine', to: 'redis:7.4.1-alpine' },
        { object: STS, field: 'metadata.labels[app.kubernetes.io/version]', from: '7.2.4-alpine', to: '7.4.1-alpine' },
      ],
      patch: templatePatch(image, { labels: { 'app.kubernetes.io/version': '7.4.1-alpine' } }),
    },
    {
      name: 'resources', to: resources, from: base, action: 'rolling-update',
      reasons: [{ object: STS, field: 'spec.template.spec.containers[redis].resources', from: {}, to: { limits: { cpu: '500m' } } }],
      patch: templatePatch(resources),
    },
    {
      name: 'config (config-hash)', to: config, from: base, action: 'rolling-update',
      reasons: [{ object: STS, field: `spec.template.metadata.annotations[${CONFIG_HASH_ANNOTATION}]`, from: configHashOf(base), to: configHashOf(config) }],
      patch: templatePatch(config),
    },
    {
      name: 'another template field (hash differs, nothing we explain)', to: base,
      mutate: (l) => { sts(l).metadata.annotations[TEMPLATE_HASH_ANNOTATION] = 'f'.repeat(64); },
      action: 'rolling-update', reasons: [{ object: STS, field: 'spec.template', from: 'f'.repeat(64), to: hashOf(base) }], patch: templatePatch(base),
    },
    {
      name: 'secret hash left over by an earlier version, with auth', to: { ...base, auth: { secretName: 'a' } },
      mutate: (l) => { sts(l).spec.template.metadata.annotations[SECRET_HASH_ANNOTATION] = 'a'.repeat(64); },
      action: 'rolling-update', reasons: [{ object: STS, field: SECRET_FIELD, to: '(removed)' }],
      patch: { spec: { template: { metadata: { annotations: { [SECRET_HASH_ANNOTATION]: null } } } } },
    },
    {
      name: 'secret hash left without auth', to: base,
      mutate: (l) => { sts(l).spec.template.metadata.annotations[SECRET_HASH_ANNOTATION] = 'a'.repeat(64); },
      action: 'rolling-update', reasons: [{ object: STS, field: SECRET_FIELD, to: '(removed)' }],
      patch: { spec: { template: { metadata: { annotations: { [SECRET_HASH_ANNOTATION]: null } } } } },
    },
    {
      name: 'updateStrategy', to: base, mutate: (l) => { sts(l).spec.updateStrategy.rollingUpdate.partition = 2; }, action: 'rolling-update',
      reasons: [{ object: STS, field: 'spec.updateStrategy', from: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } }, to: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } }],
      patch: { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } } },
    },
    {
      name: 'minReadySeconds', to: base, mutate: (l) => { sts(l).spec.minReadySeconds = 5; }, action: 'rolling-update',
      reasons: [{ object: STS, field: 'spec.minReadySeconds', from: 5, to: 0 }], patch: { spec: { minReadySeconds: null } },
    },
    {
      name: 'PVC retention policy', to: base, mutate: (l) => { sts(l).spec.persistentVolumeClaimRetentionPolicy.whenDeleted = 'Delete'; }, action: 'rolling-update',
      reasons: [{ object: STS, field: 'spec.persistentVolumeClaimRetentionPolicy', from: { whenDeleted: 'Delete', whenScaled: 'Retain' }, to: { whenDeleted: 'Retain', whenScaled: 'Retain' } }],
      patch: { spec: { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' } } },
    },
    {
      name: 'storage size grows', to: { ...base, storage: { size: '2Gi' } }, from: base, action: 'recreate',
      reasons: [{ object: STS, field: `${VCT}.resources.requests.storage`, from: '1Gi', to: '2Gi' }],
    },
    {
      name: 'storage size grows, with a rolling-update field (both reported)', to: { ...base, replicas: 2, storage: { size: '2Gi' } }, from: base, claims: { count: 1 }, action: 'recreate',
      reasons: [{ object: STS, field: `${VCT}.resources.requests.storage`, from: '1Gi', to: '2Gi' }, { object: STS, field: 'spec.replicas', from: 1, to: 2 }],
    },
    {
      name: 'storage class (no claims yet)', to: { ...base, storage: { size: '1Gi', storageClassName: 'fast' } }, from: base, claims: { count: 0 },
      action: 'recreate', reasons: [{ object: STS, field: `${VCT}.storageClassName`, from: undefined, to: 'fast' }],
    },
    {
      name: 'access modes', to: base, mutate: (l) => { sts(l).spec.volumeClaimTemplates[0].spec.accessModes = ['ReadWriteMany']; },
      action: 'recreate', reasons: [{ object: STS, field: `${VCT}.accessModes`, from: ['ReadWriteMany'], to: ['ReadWriteOnce'] }],
    },
    {
      name: 'volumeClaimTemplates names', to: base, mutate: (l) => { sts(l).spec.volumeClaimTemplates[0].metadata.name = 'data'; },
      action: 'recreate', reasons: [{ object: STS, field: 'spec.volumeClaimTemplates', from: ['data'], to: ['redis-data'] }],
    },
    {
      name: 'selector', to: base, mutate: (l) => { sts(l).spec.selector.matchLabels.extra = 'x'; }, action: 'recreate',
      reasons: [{
        object: STS, field: 'spec.selector',
        from: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache', extra: 'x' } },
        to: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' } },
      }],
    },
    { name: 'serviceName', to: base, mutate: (l) => { sts(l).spec.serviceName = 'other'; }, action: 'recreate', reasons: [{ object: STS, field: 'spec.serviceName', from: 'other', to: 'cache' }] },
    {
      name: 'podManagementPolicy', to: base, mutate: (l) => { sts(l).spec.podManagementPolicy = 'Parallel'; }, action: 'recreate',
      reasons: [{ object: STS, field: 'spec.podManagementPolicy', from: 'Parallel', to: 'OrderedReady' }],
    },
    {
      name: 'storage shrinks below the template', to: base, from: { ...base, storage: { size: '2Gi' } }, action: 'refuse',
      reasons: [
        { object: STS, field: `${VCT}.resources.requests.storage`, from: '2Gi', to: '1Gi' },
        { object: 'PersistentVolumeClaim/redis-data-cache-0', field: 'spec.resources.requests.storage', from: '2Gi', to: '1Gi' },
      ],
    },
    {
      name: 'storage shrinks below an existing claim', to: base, claims: { size: '4Gi' }, action: 'refuse',
      reasons: [{ object: 'PersistentVolumeClaim/redis-data-cache-0', field: 'spec.resources.requests.storage', from: '4Gi', to: '1Gi' }],
    },
    {
      name: 'storage shrinks below a claim while the StatefulSet is missing (refuse before create)', to: base, claims: { size: '4Gi' },
      mutate: (l) => { (l as any).statefulSet = undefined; }, action: 'refuse',
      reasons: [{ object: 'PersistentVolumeClaim/redis-data-cache-0', field: 'spec.resources.requests.storage', from: '4Gi', to: '1Gi' }],
    },
    {
      name: 'storage class of bound claims', to: { ...base, storage: { size: '1Gi', storageClassName: 'fast' } }, from: base, claims: { storageClassName: 'standard' },
      action: 'refuse', reasons: [{ object: 'PersistentVolumeClaim/redis-data-cache-0', field: 'spec.storageClassName', from: 'standard', to: 'fast' }],
    },
  ];

  for (const row of rows) {
    it(`${row.name} → ${row.action}`, () => {
      const result = planned(row.to, row);
      expect(result.action).toBe(row.action);
      expect(result.reasons).toEqual(row.reasons);
      expect(result.statefulSetPatch).toEqual(row.patch);
      if (row.action === 'none') expect(planWrites(result)).toBe(false);
      if (row.action === 'refuse') {
        expect(result.childWrites).toEqual([]);
        expect(result.pvcExpansions).toEqual([]);
        expect(planWrites(result)).toBe(false);
      }
    });
  }
});

describe('plan: volumeClaimTemplates with and without apiVersion/kind', () => {
  it('renders apiVersion v1 and kind PersistentVolumeClaim on every template', () => {
    expect(rendered(base).spec!.volumeClaimTemplates!.map((t) => [t.apiVersion, t.kind])).toEqual([['v1', 'PersistentVolumeClaim']]);
  });

  it('sees no difference on a live StatefulSet that has them (as the apiserver returns it)', () => {
    const result = planned(base, { mutate: (l) => {
      expect(sts(l).spec.volumeClaimTemplates[0]).toMatchObject({ apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
    } });
    expect(result).toMatchObject({ action: 'none', reasons: [], childWrites: [], pvcExpansions: [], message: 'in sync' });
  });

  it('sees no difference on an older live StatefulSet that lacks them', () => {
    const result = planned(base, { mutate: (l) => {
      delete sts(l).spec.volumeClaimTemplates[0].apiVersion;
      delete sts(l).spec.volumeClaimTemplates[0].kind;
    } });
    expect(result).toMatchObject({ action: 'none', reasons: [], childWrites: [], pvcExpansions: [], message: 'in sync' });
  });
});

describe('plan: normalisation (apiserver defaults and equal quantities are no difference)', () => {
  it('sees no difference in an object the apiserver defaulted', () => {
    const result = planned(base);
    expect(result).toMatchObject({ action: 'none', childWrites: [], pvcExpansions: [], message: 'in sync' });
  });

  it('compares sizes as quantities: 1Gi equals 1024Mi', () => {
    const result = planned(base, { mutate: (l) => {
      sts(l).spec.volumeClaimTemplates[0].spec.resources.requests.storage = '1024Mi';
      l.pvcs[0].spec!.resources!.requests!.storage = '1024Mi';
    } });
    expect(result.action).toBe('none');
  });

  it('reads canonicalised resources and requests defaulted from limits as equal', () => {
    const spec = { ...base, resources: { requests: { cpu: '0.5' }, limits: { memory: '1Gi' } } };
    const result = planned(spec, { mutate: (l) => {
      const c = sts(l).spec.template.spec.containers[0];
      c.resources = { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1024Mi' } };
      // The template hash differs (as if written by another renderer): the explanation must not blame resources.
      sts(l).metadata.annotations[TEMPLATE_HASH_ANNOTATION] = '0'.repeat(64);
    } });
    expect(result.reasons.map((r) => r.field)).toEqual(['spec.template']);
  });

  it('ignores live fields we do not own (extra labels, annotations, revisionHistoryLimit, status)', () => {
    const result = planned(base, { mutate: (l) => {
      sts(l).metadata.labels.team = 'a';
      sts(l).metadata.annotations['argocd.argoproj.io/tracking-id'] = 'x';
      sts(l).spec.revisionHistoryLimit = 3;
      sts(l).spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'] = 'now';
      (l.configMap as any).metadata.annotations = { note: 'x' };
    } });
    expect(result.action).toBe('none');
    expect(result.childWrites).toEqual([]);
  });
});

describe('plan: rolling updates', () => {
  it('patches only what differs, with old → new', () => {
    const result = planned({ ...base, replicas: 3, failover: 'none' }, { from: base, claims: { count: 1 } });
    expect(result.reasons).toEqual([{ object: 'StatefulSet/cache', field: 'spec.replicas', from: 1, to: 3 }]);
    expect(result.statefulSetPatch).toEqual({ spec: { replicas: 3 } });
    expect(result.childWrites.map((w) => `${w.verb} ${w.kind}/${w.name}`)).toEqual(['create Service/cache-primary', 'create PodDisruptionBudget/cache']);
  });

  it('sends the whole template and the new template hash for an image change', () => {
    const to = { ...base, image: 'redis:7.4.1-alpine' };
    const result = planned(to, { from: base });
    expect(result.reasons[0]).toEqual({ object: 'StatefulSet/cache', field: 'spec.template.spec.containers[redis].image', from: 'redis:7.2.4-alpine', to: 'redis:7.4.1-alpine' });
    const patch = result.statefulSetPatch as any;
    expect(patch.metadata.annotations[TEMPLATE_HASH_ANNOTATION]).toBe(desired(to).objects.statefulSet.metadata!.annotations![TEMPLATE_HASH_ANNOTATION]);
    expect(patch.spec.template.spec.containers[0].image).toBe('redis:7.4.1-alpine');
    expect(patch.spec.replicas).toBeUndefined();
    expect(patch.spec.volumeClaimTemplates).toBeUndefined();
    expect(result.message).toBe('rolling update of StatefulSet cache: spec.template.spec.containers[redis].image redis:7.2.4-alpine → redis:7.4.1-alpine');
  });

  it('a live key\'s new value: no rollout (StatefulSet untouched), the ConfigMap patched whole, the plan says "no restart"', () => {
    const from = { ...base, config: { maxmemory: '100mb', 'maxmemory-policy': 'allkeys-lru', databases: '16' } };
    const to = { ...from, config: { ...from.config, maxmemory: '200mb', 'maxmemory-policy': 'allkeys-lfu' } };
    const result = planned(to, { from });
    expect(result.action).toBe('none');
    expect(result.statefulSetPatch).toBeUndefined();
    expect(result.childWrites.map((w) => `${w.verb} ${w.kind}`)).toEqual(['patch ConfigMap']);
    const configMap = result.childWrites[0] as Extract<ChildWrite, { verb: 'patch' }>;
    expect(configMap.reasons.map((r) => r.field)).toEqual(['data[redis.conf]', 'data[live.conf]']);
    expect((configMap.patch as any).data['redis.conf']).toBe(desired(to).objects.configMap.data!['redis.conf']);
    expect((configMap.patch as any).data['live.conf']).toBe(desired(to).objects.configMap.data!['live.conf']);
    expect(result.configChanges).toEqual([
      { key: 'maxmemory', from: '100mb', to: '200mb', live: true },
      { key: 'maxmemory-policy', from: 'allkeys-lru', to: 'allkeys-lfu', live: true },
    ]);
    expect(result.message).toBe('StatefulSet in sync; live: maxmemory 100mb → 200mb (no restart), maxmemory-policy allkeys-lru → allkeys-lfu (no restart); patch ConfigMap/cache');
  });

  it('a restart-only key\'s new value: a rolling update by the config hash, named by key, next to the live ones', () => {
    const from = { ...base, config: { maxmemory: '100mb', databases: '16' } };
    const to = { ...base, config: { maxmemory: '200mb', databases: '32' } };
    const result = planned(to, { from });
    expect(result.action).toBe('rolling-update');
    const hash = `spec.template.metadata.annotations[${CONFIG_HASH_ANNOTATION}]`;
    expect(result.reasons.map((r) => r.field)).toEqual([hash]);
    expect((result.statefulSetPatch as any).spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION])
      .toBe(desired(to).objects.statefulSet.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]);
    expect(result.childWrites.map((w) => `${w.verb} ${w.kind}`)).toEqual(['patch ConfigMap']);
    expect(result.message).toBe('rolling update of StatefulSet cache: databases 16 → 32 (restart); live: maxmemory 100mb → 200mb (no restart)');
  });

  it('adding or removing a live key rolls the pods (Redis\'s default comes back only with a restart)', () => {
    const from = { ...base, config: { maxmemory: '100mb' } };
    for (const to of [{ ...base, config: {} }, { ...base, config: { maxmemory: '100mb', hz: '20' } }] as RedisInstanceSpec[]) {
      const result = planned(to, { from });
      expect(result.action).toBe('rolling-update');
      expect(result.configChanges!.every((c) => !c.live)).toBe(true);
    }
    expect(planned({ ...base, config: {} }, { from }).message).toBe('rolling update of StatefulSet cache: maxmemory 100mb → (unset) (restart)');
  });

  it('a new password in the auth Secret rolls nothing: the pods rotate it live', () => {
    const spec = { ...base, auth: { secretName: 'cache-auth' } };
    const live = liveFor(desired(spec, { secretHash: 'a'.repeat(64) }));
    const result = plan(desired(spec, { secretHash: 'b'.repeat(64) }), live);
    expect(result.action).toBe('none');
    expect(result.childWrites).toEqual([]);
    expect(result.message).toBe('in sync');
  });

  it('makes the patch conditional on nothing but what differs (updateStrategy back to partition 0)', () => {
    const result = planned(base, { mutate: (l) => { sts(l).spec.updateStrategy.rollingUpdate.partition = 2; } });
    expect(result.statefulSetPatch).toEqual({ spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } } });
  });
});

describe('plan: recreate and claims', () => {
  const grown = { ...base, replicas: 2, storage: { size: '2Gi' } };
  const from = { ...base, replicas: 2 };

  it('asks for StorageClasses before deciding on an expansion', () => {
    const result = planned(grown, { from });
    expect(result.action).toBe('recreate');
    expect(result.needsStorageClasses).toBe(true);
    expect(result.pvcExpansions).toEqual([]);
  });

  it('expands every existing claim when the StorageClass allows it', () => {
    const live = liveFor(desired(from));
    const result = plan(desired(grown), { ...live, storageClasses: [storageClass('standard', true)] });
    expect(result.action).toBe('recreate');
    expect(result.pvcExpansions).toEqual([
      { name: 'redis-data-cache-0', from: '1Gi', to: '2Gi' },
      { name: 'redis-data-cache-1', from: '1Gi', to: '2Gi' },
    ]);
    expect(result.claimsKeepingSize).toEqual([]);
    expect(result.message).toBe('recreate StatefulSet cache keeping its pods and claims: spec.volumeClaimTemplates[redis-data].spec.resources.requests.storage 1Gi → 2Gi');
  });

  it('says which claims keep their size when the StorageClass does not allow expansion', () => {
    const live = liveFor(desired(from));
    const result = plan(desired(grown), { ...live, storageClasses: [storageClass('standard', false)] });
    expect(result.pvcExpansions).toEqual([]);
    expect(result.claimsKeepingSize).toEqual([
      { name: 'redis-data-cache-0', size: '1Gi', why: 'StorageClass standard does not allow volume expansion' },
      { name: 'redis-data-cache-1', size: '1Gi', why: 'StorageClass standard does not allow volume expansion' },
    ]);
  });

  it('heals a claim left small by a crash after the recreate (StatefulSet already in sync)', () => {
    const live = liveFor(desired(grown), { size: '1Gi' });
    const result = plan(desired(grown), { ...live, storageClasses: [storageClass('standard', true)] });
    expect(result.action).toBe('none');
    expect(result.pvcExpansions).toHaveLength(2);
    expect(planWrites(result)).toBe(true);
  });

  it('creates a missing StatefulSet (a crash between delete and create) and then expands', () => {
    const live = liveFor(desired(from));
    const result = plan(desired(grown), { ...live, statefulSet: undefined, storageClasses: [storageClass('standard', true)] });
    expect(result.action).toBe('create');
    expect(result.pvcExpansions).toHaveLength(2);
    expect(result.message).toBe('create StatefulSet cache (adopting 2 existing claims)');
  });

  it('refuses a shrink with a message that says what to do, and writes nothing', () => {
    const result = planned(base, { from: { ...base, storage: { size: '2Gi' } } });
    expect(result.action).toBe('refuse');
    expect(result.message).toBe('Refused: storage cannot shrink from 2Gi to 1Gi (spec.storage.size); nothing was changed. Set spec.storage.size to at least 2Gi.');
  });

  it('refuses a class change on bound claims and says they cannot change class', () => {
    const result = planned({ ...base, storage: { size: '1Gi', storageClassName: 'fast' } }, { from: base });
    expect(result.action).toBe('refuse');
    expect(result.message).toBe('Refused: spec.storage.storageClassName asks for "fast" but bound claims cannot change class: redis-data-cache-0 (standard); nothing was changed. '
      + 'Restore the previous storageClassName, or move the data to new claims yourself.');
    expect(result.reasons).toEqual([{ object: 'PersistentVolumeClaim/redis-data-cache-0', field: 'spec.storageClassName', from: 'standard', to: 'fast' }]);
  });

  it('does not refuse when the claims already have the class the template now names', () => {
    const result = planned({ ...base, storage: { size: '1Gi', storageClassName: 'standard' } }, { from: base, claims: { storageClassName: 'standard' } });
    expect(result.action).toBe('recreate');
  });

  it('finds the instance claims by name only', () => {
    const claims = [claim(1, '1Gi'), claim(0, '1Gi'), claim(0, '1Gi', 'standard', 'cache-b'), { ...claim(0, '1Gi'), metadata: { name: 'redis-data-cache-x', namespace: 'web' } }];
    expect(instanceClaims('web', 'cache', claims).map((c) => c.metadata!.name)).toEqual([claimName('cache', 0), claimName('cache', 1)]);
  });
});

describe('plan: children (ConfigMap, Services, PDB) and ownership', () => {
  it('recreates missing children without touching the StatefulSet', () => {
    const result = planned({ ...base, replicas: 2 }, { mutate: (l) => {
      (l as any).configMap = undefined;
      (l as any).podDisruptionBudget = undefined;
      (l.services as unknown as unknown[]).splice(0, 1);
    } });
    expect(result.action).toBe('none');
    expect(result.childWrites.map((w) => `${w.verb} ${w.kind}/${w.name}`)).toEqual(['create ConfigMap/cache', 'create Service/cache', 'create PodDisruptionBudget/cache']);
    expect((result.childWrites[0] as any).body.metadata.ownerReferences[0]).toMatchObject({ uid: UID, controller: true, blockOwnerDeletion: true });
  });

  it('patches drifted fields only, removing keys we do not render', () => {
    const result = planned({ ...base, replicas: 2 }, { mutate: (l) => {
      (l.configMap as any).data.extra = 'x';
      (l.services[0] as any).spec.selector.extra = 'x';
      (l.podDisruptionBudget as any).spec.minAvailable = 1;
    } });
    const byKind = Object.fromEntries(result.childWrites.map((w) => [`${w.kind}/${w.name}`, w as any]));
    expect(byKind['ConfigMap/cache'].patch.data.extra).toBeNull();
    expect(byKind['Service/cache'].patch).toEqual({ spec: { selector: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache', extra: null } } });
    expect(byKind['PodDisruptionBudget/cache'].patch).toEqual({ spec: { minAvailable: null } });
  });

  it('adopts children created without an ownerReference (e.g. by Argo CD), keeping other references', () => {
    const result = planned(base, { mutate: (l) => {
      sts(l).metadata.ownerReferences = [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', name: 'x', uid: 'u' }];
      (l.configMap as any).metadata.ownerReferences = undefined;
    } });
    expect(result.action).toBe('none');
    const patches = Object.fromEntries(result.childWrites.map((w) => [w.kind, (w as any).patch]));
    expect(patches.StatefulSet.metadata.ownerReferences).toEqual([
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', name: 'x', uid: 'u' },
      { apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', name: 'cache', uid: UID, controller: true, blockOwnerDeletion: true },
    ]);
    expect(patches.ConfigMap.metadata.ownerReferences).toHaveLength(1);
  });

  it('removes the primary Service and the PDB when scaled to one pod', () => {
    const result = planned(base, { from: { ...base, replicas: 3, failover: 'none' } });
    expect(result.action).toBe('rolling-update');
    expect(result.childWrites.map((w) => `${w.verb} ${w.kind}/${w.name}`)).toEqual(['delete Service/cache-primary', 'delete PodDisruptionBudget/cache']);
  });

  it('replaces a headless Service that got a cluster IP (clusterIP is immutable)', () => {
    const result = planned(base, { mutate: (l) => { (l.services[0] as any).spec.clusterIP = '10.0.0.9'; } });
    expect(result.childWrites.map((w) => `${w.verb} ${w.kind}/${w.name}`)).toEqual(['replace Service/cache']);
  });

  it('is idempotent: planning against what the plan asked for finds nothing', () => {
    const d = desired({ ...base, replicas: 3, failover: 'none', config: { maxmemory: '1gb' } });
    expect(planWrites(plan(d, liveFor(d)))).toBe(false);
  });
});
