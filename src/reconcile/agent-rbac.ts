import type { V1ObjectMeta, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { canonicalJson } from '../render/instance';
import type { ChildWrite, DesiredInput, LiveState, Reason } from './plan';

/**
 * The role agents' ServiceAccount, Role and RoleBinding of a failover instance: created
 * when missing, patched when what we own drifted (our labels, the Role's rules, whose
 * resourceNames follow spec.replicas, the RoleBinding's subjects). When failover is turned
 * off they stay until the instance is deleted (their ownerReference): no pod uses them.
 * Pure, like plan().
 */
export function planAgentRbac(desired: DesiredInput, live: LiveState): ChildWrite[] {
  const { serviceAccount, role, roleBinding } = desired.objects;
  const out: ChildWrite[] = [];
  if (serviceAccount) out.push(...planOne('ServiceAccount', serviceAccount, live.serviceAccount, (d, l) => ({
    ...(d.automountServiceAccountToken !== l.automountServiceAccountToken ? { automountServiceAccountToken: d.automountServiceAccountToken } : {}),
  })));
  if (role) out.push(...planOne('Role', role, live.role, (d, l) => (canonicalJson(d.rules ?? []) !== canonicalJson(l.rules ?? []) ? { rules: d.rules } : {})));
  if (roleBinding) out.push(...planOne('RoleBinding', roleBinding, live.roleBinding, (d, l) => (canonicalJson(d.subjects ?? []) !== canonicalJson(l.subjects ?? []) ? { subjects: d.subjects } : {})));
  return out;
}

type Kind = 'ServiceAccount' | 'Role' | 'RoleBinding';

function planOne<T extends V1ServiceAccount | V1Role | V1RoleBinding>(
  kind: Kind, desired: T, live: T | undefined, fields: (desired: T, live: T) => Record<string, unknown>,
): ChildWrite[] {
  const name = desired.metadata!.name!;
  const object = `${kind}/${name}`;
  if (!live) return [{ verb: 'create', kind, name, body: desired, reasons: [{ object, field: '', to: 'created' }] }];
  const patch: Record<string, unknown> = fields(desired, live);
  const reasons: Reason[] = Object.keys(patch).map((field) => ({ object, field, from: (live as any)[field], to: (desired as any)[field] }));
  const metadata = labelAndOwnerPatch(desired.metadata!, live.metadata ?? {});
  if (metadata) {
    patch.metadata = metadata;
    reasons.push({ object, field: 'metadata', to: 'our labels and ownerReference' });
  }
  return reasons.length > 0 ? [{ verb: 'patch', kind, name, patch, reasons }] : [];
}

/** Our labels and ownerReference, when the live object lacks them (others' labels are kept). */
function labelAndOwnerPatch(desired: V1ObjectMeta, live: V1ObjectMeta): Record<string, unknown> | undefined {
  const labels = Object.fromEntries(Object.entries(desired.labels ?? {}).filter(([k, v]) => live.labels?.[k] !== v));
  const owner = desired.ownerReferences?.[0];
  const ownerMissing = owner?.uid && !(live.ownerReferences ?? []).some((r) => r.uid === owner.uid);
  if (Object.keys(labels).length === 0 && !ownerMissing) return undefined;
  return {
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(ownerMissing ? { ownerReferences: [...(live.ownerReferences ?? []).filter((r) => r.kind !== owner!.kind), owner] } : {}),
  };
}
