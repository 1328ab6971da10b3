import type {
  V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1Role, V1RoleBinding, V1Service, V1ServiceAccount,
  V1StatefulSet, V1StorageClass,
} from '@kubernetes/client-node';
import { diffObject, mergePatches, planChildren, type ChildWrite, type LiveChildren, type MergePatch, type Reason } from './children';
import { instanceClaims, planClaims, type ClaimKeepingSize, type PvcExpansion } from './claims';
import type { Desired } from './desired';
import { createMessage, inSyncMessage, recreateMessage, rollingUpdateMessage } from './format';
import { decide, type Action } from './rules';
import { CONFIG_FILE } from '../redis-conf/render';
import { configChanges, type ConfigChange } from '../redis-conf/live-config';

/**
 * plan(desired, live): what to do for one instance, and why. Pure: no I/O, no clock.
 *
 * - `action` is what happens to the StatefulSet and so to the pods, decided by the rules
 *   (rules.ts): none, create, rolling-update (a patch; Kubernetes rolls the pods),
 *   recreate (orphan-delete and create; the pods are adopted and keep running) or refuse
 *   (nothing is written).
 * - `childWrites` bring the ConfigMap, Services and PDB (and the StatefulSet's own labels
 *   and ownerReferences) to the desired state (children.ts). They happen with any action
 *   but refuse, and may be needed while the action is none.
 * - `pvcExpansions` grow existing claims to the desired size when their StorageClass
 *   allows it; `claimsKeepingSize` lists the claims that cannot grow, for status (claims.ts).
 * A second pass right after a successful one plans action none and no writes.
 */

export type { Action, Reason, ChildWrite, MergePatch, PvcExpansion, ClaimKeepingSize, ConfigChange };
export type { ChildKind } from './children';
export { claimName, instanceClaims } from './claims';

export interface Plan {
  readonly action: Action;
  /** Why the StatefulSet action was chosen (empty for none). */
  readonly reasons: readonly Reason[];
  /** For rolling-update: the merge patch of the StatefulSet (only the fields that differ). */
  readonly statefulSetPatch?: MergePatch;
  readonly childWrites: readonly ChildWrite[];
  readonly pvcExpansions: readonly PvcExpansion[];
  readonly claimsKeepingSize: readonly ClaimKeepingSize[];
  /** True when a claim must grow but `live.storageClasses` was not given: read them and plan again. */
  readonly needsStorageClasses: boolean;
  /**
   * The redis.conf keys whose value changes (the live ConfigMap's against the desired),
   * each live (the agent applies it, no restart) or restart-only (in the config hash).
   */
  readonly configChanges?: readonly ConfigChange[];
  /** One line for people: the action and its main reasons, or why it was refused. */
  readonly message: string;
}

/** What exists in the cluster for one instance. */
export interface LiveState extends LiveChildren {
  readonly statefulSet?: V1StatefulSet;
  readonly configMap?: V1ConfigMap;
  /** The instance's Services (the headless one and, if any, `<name>-primary`). */
  readonly services: readonly V1Service[];
  readonly podDisruptionBudget?: V1PodDisruptionBudget;
  /** The claims in the instance's namespace (any; those of this instance are found by name). */
  readonly pvcs?: readonly V1PersistentVolumeClaim[];
  /** Every StorageClass, when an expansion is considered. */
  readonly storageClasses?: readonly V1StorageClass[];
  /** The role agents' RBAC (failover instances). */
  readonly serviceAccount?: V1ServiceAccount;
  readonly role?: V1Role;
  readonly roleBinding?: V1RoleBinding;
  /** The instance's pods, for role labels (status, backstop, scale-down guard). */
  readonly pods?: readonly V1Pod[];
}

export { planWrites } from './report';

export function plan(desired: Desired, live: LiveState): Plan {
  const { resolved, objects } = desired;
  const name = resolved.name;
  const object = `StatefulSet/${name}`;
  const claims = live.pvcs ? instanceClaims(resolved.namespace, name, live.pvcs) : [];
  const decision = decide({
    object, desired: objects.statefulSet, live: live.statefulSet, storage: resolved.spec.storage, auth: resolved.spec.auth !== undefined, claims,
  });
  if (decision.action === 'refuse') {
    return {
      action: 'refuse', reasons: decision.reasons, childWrites: [], pvcExpansions: [], claimsKeepingSize: [], needsStorageClasses: false,
      message: decision.message,
    };
  }

  const childWrites = planChildren(objects, live);
  const claimPlan = planClaims(claims, resolved.spec.storage.size, live.storageClasses);
  const { reasons } = decision;
  const config = configChanges(live.configMap?.data?.[CONFIG_FILE], objects.configMap.data?.[CONFIG_FILE] ?? '');
  if (decision.action === 'create' || !live.statefulSet) return { action: 'create', reasons, childWrites, ...claimPlan, message: createMessage(name, claims.length) };
  if (decision.action === 'recreate') return { action: 'recreate', reasons, childWrites, ...claimPlan, message: recreateMessage(name, decision.cause) };

  // The StatefulSet's own labels and ownerReference: with the rolling update, or alone (rolls nothing).
  const metadata = diffObject(object, objects.statefulSet, live.statefulSet, []);
  if (decision.action === 'rolling-update') {
    return {
      action: 'rolling-update', reasons: [...reasons, ...metadata.reasons],
      statefulSetPatch: metadata.patch ? mergePatches([decision.patch, metadata.patch]) : decision.patch,
      childWrites, ...claimPlan, configChanges: config, message: rollingUpdateMessage(name, decision.cause, config),
    };
  }
  const writes: ChildWrite[] = metadata.patch
    ? [{ verb: 'patch', kind: 'StatefulSet', name, patch: metadata.patch, reasons: metadata.reasons }, ...childWrites]
    : childWrites;
  return {
    action: 'none', reasons: [], childWrites: writes, ...claimPlan, configChanges: config,
    message: inSyncMessage(writes, claimPlan.pvcExpansions, config),
  };
}
