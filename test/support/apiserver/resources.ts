/** The resource types the test API server serves, and how each behaves in the apiserver. */

export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  /** Has a /status subresource: main writes keep .status, status writes keep everything else. */
  statusSubresource: boolean;
  /** metadata.generation is maintained (workloads and custom resources). */
  hasGeneration: boolean;
  /** DELETE answers with the object (genericregistry.Store.ReturnDeletedObject) instead of a Status. */
  returnDeletedObject: boolean;
  /** A PUT without metadata.resourceVersion is accepted (false for custom resources). */
  allowUnconditionalUpdate: boolean;
  /** A custom resource: no strategic merge patch, list items carry apiVersion/kind. */
  custom: boolean;
  shortNames?: string[];
}

export interface CustomResourceDefinition {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  statusSubresource: boolean;
  singular?: string;
  shortNames?: string[];
}

export function apiVersionOf(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** `statefulsets.apps`, `configmaps`, `redisinstances.redis.github.com`. */
export function qualifiedResource(rt: ResourceType): string {
  return rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
}

/** `StatefulSet.apps`, `PersistentVolumeClaim`. */
export function qualifiedKind(rt: ResourceType): string {
  return rt.group ? `${rt.kind}.${rt.group}` : rt.kind;
}

function builtin(
  group: string,
  version: string,
  plural: string,
  kind: string,
  opts: Partial<Omit<ResourceType, 'group' | 'version' | 'plural' | 'kind'>> = {},
): ResourceType {
  return {
    group,
    version,
    plural,
    kind,
    singular: kind.toLowerCase(),
    namespaced: true,
    statusSubresource: false,
    hasGeneration: false,
    returnDeletedObject: false,
    allowUnconditionalUpdate: true,
    custom: false,
    ...opts,
  };
}

const BUILTINS: ResourceType[] = [
  builtin('', 'v1', 'namespaces', 'Namespace', {
    namespaced: false,
    statusSubresource: true,
    returnDeletedObject: true,
    shortNames: ['ns'],
  }),
  builtin('', 'v1', 'configmaps', 'ConfigMap', { shortNames: ['cm'] }),
  builtin('', 'v1', 'services', 'Service', { statusSubresource: true, returnDeletedObject: true, shortNames: ['svc'] }),
  builtin('', 'v1', 'secrets', 'Secret'),
  builtin('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', {
    statusSubresource: true,
    returnDeletedObject: true,
    shortNames: ['pvc'],
  }),
  builtin('', 'v1', 'pods', 'Pod', { statusSubresource: true, returnDeletedObject: true, shortNames: ['po'] }),
  builtin('', 'v1', 'events', 'Event', { shortNames: ['ev'] }),
  builtin('', 'v1', 'serviceaccounts', 'ServiceAccount', { returnDeletedObject: true, shortNames: ['sa'] }),
  builtin('apps', 'v1', 'statefulsets', 'StatefulSet', {
    statusSubresource: true,
    hasGeneration: true,
    shortNames: ['sts'],
  }),
  builtin('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', {
    statusSubresource: true,
    hasGeneration: true,
    shortNames: ['pdb'],
  }),
  builtin('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', {
    namespaced: false,
    returnDeletedObject: true,
    shortNames: ['sc'],
  }),
  builtin('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  builtin('events.k8s.io', 'v1', 'events', 'Event', { shortNames: ['ev'] }),
  builtin('batch', 'v1', 'cronjobs', 'CronJob', { statusSubresource: true, hasGeneration: true, shortNames: ['cj'] }),
  builtin('rbac.authorization.k8s.io', 'v1', 'roles', 'Role'),
  builtin('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding'),
  builtin('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', { namespaced: false }),
  builtin('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', { namespaced: false }),
];

export const REDIS_INSTANCE_CRD: CustomResourceDefinition = {
  group: 'redis.github.com',
  version: 'v1',
  plural: 'redisinstances',
  kind: 'RedisInstance',
  namespaced: true,
  statusSubresource: true,
};

export class ResourceRegistry {
  private readonly types: ResourceType[] = [];

  constructor() {
    for (const rt of BUILTINS) this.types.push({ ...rt });
    this.registerCustomResource(REDIS_INSTANCE_CRD);
  }

  /** Serve a custom resource like the apiextensions-apiserver does for a CRD. */
  registerCustomResource(crd: CustomResourceDefinition): ResourceType {
    const rt: ResourceType = {
      group: crd.group,
      version: crd.version,
      plural: crd.plural,
      kind: crd.kind,
      singular: crd.singular ?? crd.kind.toLowerCase(),
      namespaced: crd.namespaced,
      statusSubresource: crd.statusSubresource,
      hasGeneration: true,
      returnDeletedObject: false,
      allowUnconditionalUpdate: false,
      custom: true,
      shortNames: crd.shortNames,
    };
    const existing = this.types.findIndex(
      (t) => t.group === rt.group && t.version === rt.version && t.plural === rt.plural,
    );
    if (existing >= 0) this.types[existing] = rt;
    else this.types.push(rt);
    return rt;
  }

  all(): readonly ResourceType[] {
    return this.types;
  }

  byPath(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
  }

  /** Group versions in discovery order: core first, then groups in registration order. */
  groups(): { group: string; versions: string[] }[] {
    const out: { group: string; versions: string[] }[] = [];
    for (const t of this.types) {
      if (!t.group) continue;
      let g = out.find((x) => x.group === t.group);
      if (!g) out.push((g = { group: t.group, versions: [] }));
      if (!g.versions.includes(t.version)) g.versions.push(t.version);
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.types.filter((t) => t.group === group && t.version === version);
  }
}
