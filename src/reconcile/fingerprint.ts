import { createHash } from 'node:crypto';
import type { RedisInstanceObject } from '../api/types';
import { canonicalJson } from '../render/instance';
import { PACKAGE_VERSION } from '../version';
import { authSecret } from './desired';
import { liveFor, type Snapshot } from './snapshot';

/**
 * The fingerprint of an instance in sync, pure: a SHA-256 over everything its plan and
 * status are computed from, as one pass reads it:
 * - the reconciler's version (a new version renders and plans everything once);
 * - the RedisInstance's uid, `metadata.generation` (which the apiserver raises on every
 *   spec change, and not on status writes), labels and annotations;
 * - every object of the instance (StatefulSet, ConfigMap, Services, claims, and with the
 *   pod agent its RBAC objects and pods) by name, uid and resourceVersion: an apiserver
 *   gives any changed object a new resourceVersion, so any drift, deletion or status change
 *   of a child changes the fingerprint. The PodDisruptionBudget by its generation and
 *   metadata instead: its controller rewrites its status whenever a pod's health changes,
 *   and neither the plan nor the status reads that;
 * - what its auth Secret gave (the hash of the password, or why it could not be read).
 *
 * A pass that finds an instance settled (in sync, Running, nothing to write, no warning)
 * writes the fingerprint into `status.fingerprint`. A later pass that computes the same
 * one knows, without validating, rendering or planning, that the result would be the
 * same: in sync, status unchanged. Anything else is planned in full. See docs/reconciler.md.
 */

const SCHEME = 1;

export function fingerprintOf(snapshot: Snapshot, instance: RedisInstanceObject): string {
  const m = instance.metadata;
  const namespace = m.namespace ?? 'default';
  const live = liveFor(snapshot, namespace, m.name);
  const v = (o: { metadata?: { name?: string; uid?: string; resourceVersion?: string } } | undefined) => (o ? `${o.metadata?.name}:${o.metadata?.uid}@${o.metadata?.resourceVersion}` : '-');
  const { secretHash, warning } = authSecret(instance, { secrets: snapshot.secrets, error: snapshot.secretError });
  const text = [
    `${SCHEME} ${PACKAGE_VERSION}`,
    `${m.uid} ${m.generation}`,
    canonicalJson(m.labels ?? {}),
    canonicalJson(m.annotations ?? {}),
    [live.statefulSet, live.configMap, live.serviceAccount, live.role, live.roleBinding].map(v).join(' '),
    pdbVersion(live.podDisruptionBudget),
    live.services.map(v).join(' '),
    (live.pvcs ?? []).map(v).join(' '),
    live.pods ? live.pods.map(v).join(' ') : '-',
    secretHash ?? warning?.message ?? '',
  ].join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** A PodDisruptionBudget as the plan reads it: spec (its generation) and metadata, not its status. */
function pdbVersion(pdb: { metadata?: { uid?: string; generation?: number; labels?: object; annotations?: object; ownerReferences?: object } } | undefined): string {
  if (!pdb) return '-';
  const m = pdb.metadata ?? {};
  return `${m.uid}#${m.generation} ${canonicalJson([m.labels ?? {}, m.annotations ?? {}, m.ownerReferences ?? []])}`;
}

/**
 * True when the instance's status holds this fingerprint, for the generation it has, and
 * says Running: the pass may report it in sync without planning it.
 */
export function unchangedSinceSettled(instance: RedisInstanceObject, fingerprint: string): boolean {
  const status = instance.status;
  return status?.fingerprint === fingerprint
    && status.phase === 'Running'
    && status.observedGeneration === instance.metadata.generation
    && !instance.metadata.deletionTimestamp;
}
