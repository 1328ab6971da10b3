import type { V1PersistentVolumeClaim, V1StatefulSet, V1StorageClass } from '@kubernetes/client-node';
import { compareQuantities, isQuantity } from '../api/quantity';
import { DATA_VOLUME } from '../render/instance';

/**
 * The instance's data claims: found by name, and which of them grow to the desired size.
 * Checked on every pass, not only after a recreate, so a crash before an expansion heals.
 */

export interface PvcExpansion {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

export interface ClaimKeepingSize {
  readonly name: string;
  readonly size: string;
  readonly why: string;
}

export interface ClaimPlan {
  readonly pvcExpansions: readonly PvcExpansion[];
  readonly claimsKeepingSize: readonly ClaimKeepingSize[];
  /** A claim must grow but the StorageClasses were not given: read them and plan again. */
  readonly needsStorageClasses: boolean;
}

/** Name of the claim of pod `<name>-<ordinal>`: `<template>-<statefulset>-<ordinal>`. */
export function claimName(instanceName: string, ordinal: number): string {
  return `${DATA_VOLUME}-${instanceName}-${ordinal}`;
}

/** The instance's data claims among `pvcs`, by ordinal. */
export function instanceClaims(namespace: string, instanceName: string, pvcs: readonly V1PersistentVolumeClaim[]): V1PersistentVolumeClaim[] {
  const prefix = `${DATA_VOLUME}-${instanceName}-`;
  return pvcs
    .filter((c) => c.metadata?.namespace === namespace && c.metadata.name?.startsWith(prefix) && /^\d+$/.test(c.metadata.name.slice(prefix.length)))
    .sort((a, b) => Number(a.metadata!.name!.slice(prefix.length)) - Number(b.metadata!.name!.slice(prefix.length)));
}

/** The StatefulSet's data volumeClaimTemplate. */
export function dataTemplate(sts: V1StatefulSet | undefined): V1PersistentVolumeClaim | undefined {
  return sts?.spec?.volumeClaimTemplates?.find((t) => t.metadata?.name === DATA_VOLUME);
}

/** The requested size of a claim (or template), when it is a quantity. */
export function claimSize(claim: V1PersistentVolumeClaim | undefined): string | undefined {
  const size = claim?.spec?.resources?.requests?.storage;
  return size !== undefined && isQuantity(size) ? String(size) : undefined;
}

/** Claims smaller than `desiredSize` grow when their StorageClass allows volume expansion. */
export function planClaims(claims: readonly V1PersistentVolumeClaim[], desiredSize: string, storageClasses?: readonly V1StorageClass[]): ClaimPlan {
  const pvcExpansions: PvcExpansion[] = [];
  const claimsKeepingSize: ClaimKeepingSize[] = [];
  let needsStorageClasses = false;
  for (const claim of claims) {
    const size = claimSize(claim);
    if (size === undefined || compareQuantities(size, desiredSize) >= 0) continue;
    const name = claim.metadata!.name!;
    const className = claim.spec?.storageClassName;
    if (!className) {
      claimsKeepingSize.push({ name, size, why: 'it has no StorageClass' });
      continue;
    }
    if (!storageClasses) {
      needsStorageClasses = true;
      continue;
    }
    const storageClass = storageClasses.find((c) => c.metadata?.name === className);
    if (storageClass?.allowVolumeExpansion === true) pvcExpansions.push({ name, from: size, to: desiredSize });
    else claimsKeepingSize.push({ name, size, why: storageClass ? `StorageClass ${className} does not allow volume expansion` : `StorageClass ${className} was not found` });
  }
  return { pvcExpansions, claimsKeepingSize, needsStorageClasses };
}
