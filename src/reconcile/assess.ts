import type { RedisInstanceObject } from '../api/types';
import { authSecret, desiredFor, type DesiredResult } from './desired';
import type { Planned } from './execute';
import { plan } from './plan';
import { fingerprintOf } from './fingerprint';
import { liveFor, type Snapshot } from './snapshot';
import type { InstanceResult } from './report';
import type { StatusWarning } from './status';

/**
 * The plan step of a pass, pure: for each instance of a snapshot, its desired state (with
 * the auth Secret's hash) and, when it can be planned, what exists and what to do.
 */

/** One instance as the pass sees it. */
export interface Assessment {
  readonly instance: RedisInstanceObject;
  readonly namespace: string;
  readonly name: string;
  readonly desired: DesiredResult;
  /** Absent when the spec is invalid or the instance is being deleted: only its status is written. */
  readonly planned?: Planned;
  /** Non-fatal problems found while planning (the auth Secret cannot be read, or lacks its key). */
  readonly warnings: readonly StatusWarning[];
  /** What the assessment was computed from (fingerprint.ts): the status keeps it once the instance is settled. */
  readonly fingerprint: string;
}

export function assess(snapshot: Snapshot, instance: RedisInstanceObject, fingerprint = fingerprintOf(snapshot, instance)): Assessment {
  const namespace = instance.metadata.namespace ?? 'default';
  const name = instance.metadata.name;
  const { secretHash: hash, warning } = authSecret(instance, { secrets: snapshot.secrets, error: snapshot.secretError });
  const warnings = warning ? [warning] : [];
  const desired = desiredFor(instance, { secretHash: hash });
  const base = { instance, namespace, name, desired, warnings, fingerprint };
  if (!desired.ok || instance.metadata.deletionTimestamp) return base;
  const live = liveFor(snapshot, namespace, name);
  return { ...base, planned: { desired, live, plan: plan(desired, live) } };
}

/** Plan every instance of the snapshot. */
export function assessAll(snapshot: Snapshot): Assessment[] {
  return snapshot.instances.map((instance) => assess(snapshot, instance));
}

/** True when some plan must know the StorageClasses (a claim may grow): LIST them and assess again. */
export function needsStorageClasses(assessments: readonly Assessment[]): boolean {
  return assessments.some((a) => a.planned?.plan.needsStorageClasses);
}

/**
 * What an instance's assessment was computed from, as one string: the instance's
 * resourceVersion and its fingerprint (the versions of its objects, what its auth Secret
 * gave). Two reads with the same versions assess the same.
 */
export function versionsOf(snapshot: Snapshot, instance: RedisInstanceObject): string {
  return `${instance.metadata.resourceVersion} ${fingerprintOf(snapshot, instance)}`;
}

/**
 * An instance whose assessment wrote nothing, as the pass found it before taking the Lease.
 * The pass after the Lease reuses its result when the versions are the same, instead of
 * rendering and planning it again.
 */
export interface Quiet {
  readonly versions: string;
  readonly result: InstanceResult;
}

/**
 * True when an assessment may be reused on the same versions: its plan does not depend on
 * the StorageClasses (read only when some claim must grow, and not versioned here).
 */
export function reusable(a: Assessment): boolean {
  const p = a.planned?.plan;
  return !p || (p.pvcExpansions.length === 0 && p.claimsKeepingSize.length === 0 && !p.needsStorageClasses);
}
