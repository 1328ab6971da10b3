import type { V1ObjectMeta, V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { API_VERSION, KIND, type RedisInstanceObject, type ResolvedRedisInstance } from '../api/types';
import { validateRedisInstance, type ValidationIssue } from '../api/validate';
import { renderInstance, type RenderedInstance } from '../render/instance';
import type { StatusWarning } from './status';

/**
 * Desired state of one RedisInstance as read from the cluster: the objects the construct
 * renders for Git (the same builders, never a copy), plus what is only known at run time:
 * ownerReferences to the live RedisInstance.
 */

/**
 * Pod-template annotation that earlier versions set to a salted hash of the password, so
 * that a new password rolled the pods. Passwords now rotate live, inside the pods
 * (docs/live-changes.md): nothing sets it; the rules remove it where it is left over.
 */
export const SECRET_HASH_ANNOTATION = 'redis.github.com/secret-hash';

/** What should exist for one valid RedisInstance: its resolved spec and the objects rendered for it. */
export interface Desired {
  readonly resolved: ResolvedRedisInstance;
  readonly objects: RenderedInstance;
}

/** desiredFor's answer: the desired state, or why the spec is invalid. */
export type DesiredResult =
  | ({ readonly ok: true } & Desired)
  | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

export interface DesiredContext {
  /**
   * secretHash() of the auth Secret. Not used since passwords rotate live (no pod
   * template carries it); accepted until the pass stops passing it.
   */
  readonly secretHash?: string;
}

/** The ownerReference every child carries: deleting the instance garbage-collects them. */
export function ownerReference(obj: RedisInstanceObject): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: obj.metadata.name,
    uid: obj.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The rendered object with the ownerReference: a new metadata, the rest shared with the
 * render (which builds fresh objects on every call, and nothing here or after mutates them).
 */
function owned<T extends { metadata?: V1ObjectMeta }>(object: T, owner: V1OwnerReference): T {
  return { ...object, metadata: { ...object.metadata, ownerReferences: [owner] } };
}

/**
 * Validate a RedisInstance read from the cluster and build what should exist for it.
 * The volumeClaimTemplates get no ownerReference: claims must outlive the instance.
 */
export function desiredFor(obj: RedisInstanceObject, _ctx: DesiredContext = {}): DesiredResult {
  const result = validateRedisInstance(obj, { origin: 'cluster' });
  if (!result.ok) return { ok: false, issues: result.issues };
  const rendered = renderInstance(result.instance);
  const owner = ownerReference(obj);
  const statefulSet = owned(rendered.statefulSet, owner);
  const objects: RenderedInstance = {
    configMap: owned(rendered.configMap, owner),
    service: owned(rendered.service, owner),
    ...(rendered.primaryService ? { primaryService: owned(rendered.primaryService, owner) } : {}),
    ...(rendered.serviceAccount ? { serviceAccount: owned(rendered.serviceAccount, owner) } : {}),
    ...(rendered.role ? { role: owned(rendered.role, owner) } : {}),
    ...(rendered.roleBinding ? { roleBinding: owned(rendered.roleBinding, owner) } : {}),
    statefulSet,
    ...(rendered.podDisruptionBudget ? { podDisruptionBudget: owned(rendered.podDisruptionBudget, owner) } : {}),
  };
  return { ok: true, resolved: result.instance, objects };
}

/** The namespace's Secrets as the pass listed them, or why they could not be listed. */
export interface NamespaceSecrets {
  readonly secrets?: ReadonlyMap<string, V1Secret>;
  readonly error?: string;
}

/**
 * The secret hash for an instance with `spec.auth`, or the warning that says why there is
 * none (each cause its own Degraded reason). Nothing for an instance without auth.
 */
export function authSecret(obj: RedisInstanceObject, read: NamespaceSecrets): { secretHash?: string; warning?: StatusWarning } {
  const auth = obj.spec?.auth;
  if (!auth?.secretName) return {};
  const namespace = obj.metadata.namespace ?? 'default';
  const key = auth.secretKey ?? 'password';
  if (read.error !== undefined) {
    return { warning: { reason: 'SecretsUnreadable', message: `cannot read Secrets in ${namespace}, so whether Secret ${auth.secretName} exists is not checked (${read.error})` } };
  }
  const secret = read.secrets?.get(auth.secretName);
  if (!secret) return { warning: { reason: 'SecretNotFound', message: `Secret ${auth.secretName} not found; the pods cannot start until it exists` } };
  const hash = secretHash(secret, key);
  if (!hash) return { warning: { reason: 'SecretKeyMissing', message: `Secret ${auth.secretName} has no key "${key}"; the pods cannot start until it does` } };
  return { secretHash: hash };
}

/**
 * Hash of the password in a Secret, or undefined when the Secret or the key is missing.
 * Salted with the Secret's uid and key so the annotation is not a plain SHA-256 of a
 * password that anyone who can read StatefulSets could look up in a table.
 */
export function secretHash(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  if (value === undefined) return undefined;
  return createHash('sha256')
    .update(`redis-gitops/secret-hash\0${secret?.metadata?.uid ?? ''}\0${key}\0`)
    .update(Buffer.from(value, 'base64'))
    .digest('hex');
}
