import { API_GROUP, KIND } from '../api/types';
import { SECRET_HASH_ANNOTATION } from '../reconcile/desired';

/**
 * One `spec.ignoreDifferences` entry of an Application: fields Argo CD leaves out of the
 * diff and, with the sync option `RespectIgnoreDifferences=true`, also out of what it
 * applies (it keeps the live value).
 */
export interface ArgoCdIgnoreDifference {
  /** API group, `''` for the core group. */
  readonly group: string;
  readonly kind: string;
  /** @default - every object of the kind */
  readonly name?: string;
  /** @default - every namespace */
  readonly namespace?: string;
  /** RFC 6901 pointers; `/` inside a key is written `~1`. */
  readonly jsonPointers?: readonly string[];
  readonly jqPathExpressions?: readonly string[];
  /** Ignore every field these field managers own (server-side apply bookkeeping). */
  readonly managedFieldsManagers?: readonly string[];
}

/**
 * Pod-template annotation the reconciler sets when `spec.auth` is used: a hash of the
 * password, so a rotated Secret rolls the pods. Git never holds it.
 */
export const RECONCILER_SECRET_HASH_ANNOTATION = SECRET_HASH_ANNOTATION;

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
export function jsonPointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

const OWNER_REFERENCES = '/metadata/ownerReferences';

/**
 * Exactly the fields the reconciler owns at run time and Git does not hold, so Argo CD
 * neither reports them as drift nor removes them on sync (selfHeal), and the reconciler
 * never has to put them back:
 * - StatefulSet: the secret-hash pod-template annotation, and its ownerReference;
 * - ConfigMap, Services, PodDisruptionBudget: their ownerReference to the RedisInstance;
 * - RedisInstance: `status` (written through the status subresource). Argo CD never
 *   writes status through the main resource and its default diff does not compare fields
 *   that Git does not hold, so this entry only makes the ownership explicit and keeps it
 *   true when `resource.compareoptions.ignoreResourceStatusField` is set to `off`.
 *
 * Why not `managedFieldsManagers: [redis-gitops]`: the reconciler also writes fields that
 * Git does hold (a rolling update patches `spec.template`, a recreate creates the whole
 * StatefulSet), so ignoring everything it manages would hide real drift in those fields.
 */
export const RECONCILER_IGNORE_DIFFERENCES: readonly ArgoCdIgnoreDifference[] = Object.freeze([
  {
    group: 'apps',
    kind: 'StatefulSet',
    jsonPointers: [`/spec/template/metadata/annotations/${jsonPointerToken(RECONCILER_SECRET_HASH_ANNOTATION)}`, OWNER_REFERENCES],
  },
  { group: '', kind: 'ConfigMap', jsonPointers: [OWNER_REFERENCES] },
  { group: '', kind: 'Service', jsonPointers: [OWNER_REFERENCES] },
  { group: 'policy', kind: 'PodDisruptionBudget', jsonPointers: [OWNER_REFERENCES] },
  { group: API_GROUP, kind: KIND, jsonPointers: ['/status'] },
]);
