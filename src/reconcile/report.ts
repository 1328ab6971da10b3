import type { RedisInstanceObject, RedisPhase } from '../api/types';
import type { Assessment } from './assess';
import type { RequestCounts } from './kube';
import type { Plan, Reason } from './plan';
import type { Acted, Settled } from './status-writer';

/**
 * The report step of a pass: what happened to each instance, as the CLI prints it (a
 * table row, or one JSON line) and as tests read it.
 */

export interface InstanceResult {
  readonly namespace: string;
  readonly name: string;
  readonly action: Plan['action'];
  /** Fields that caused the action, old → new. */
  readonly reasons: readonly Reason[];
  /** Other writes: `patch ConfigMap/cache`, `expand PersistentVolumeClaim/redis-data-cache-0 1Gi → 2Gi`. */
  readonly writes: readonly string[];
  readonly message: string;
  /** The phase the status has (or, with --dry-run, would have). */
  readonly phase: RedisPhase;
  readonly statusChanged: boolean;
  /** Something failed after retries (the run exits 1). */
  readonly error?: string;
  /** Non-fatal problems (e.g. an Event could not be recorded, a Secret could not be read). */
  readonly warnings: readonly string[];
}

export interface PassResult {
  readonly instances: readonly InstanceResult[];
  /** Requests sent by verb, and in total. */
  readonly requests: RequestCounts & { readonly total: number; readonly writes: number };
  /** Set when another run holds the Lease: this run did nothing. */
  readonly leaseHeld?: { readonly holder: string; readonly until: string };
  /** An error that stopped the whole pass (a LIST failed after retries). */
  readonly error?: string;
  readonly dryRun: boolean;
}

/** True when the plan writes anything (status aside). */
export function planWrites(plan: Plan): boolean {
  return plan.action !== 'none' && plan.action !== 'refuse' || plan.childWrites.length > 0 || plan.pvcExpansions.length > 0;
}

/** The writes of a plan besides the StatefulSet's, one line each. */
export function writesOf(p: Plan | undefined): string[] {
  if (!p) return [];
  return [
    ...p.childWrites.map((w) => `${w.verb} ${w.kind}/${w.name}`),
    ...p.pvcExpansions.map((e) => `expand PersistentVolumeClaim/${e.name} ${e.from} → ${e.to}`),
  ];
}

function messageOf(a: Assessment, p: Plan | undefined, error: string | undefined): string {
  if (error) return `${p?.message ?? ''} — failed: ${error}`;
  if (!a.desired.ok) return `invalid spec: ${a.desired.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
  if (a.instance.metadata.deletionTimestamp) return 'being deleted';
  return p?.message ?? '';
}

/** An instance whose fingerprint says it is as the last pass settled it (fingerprint.ts): in sync, status unchanged. */
export function unchangedResult(instance: RedisInstanceObject): InstanceResult {
  return {
    namespace: instance.metadata.namespace ?? 'default', name: instance.metadata.name,
    action: 'none', reasons: [], writes: [], message: 'in sync (unchanged since the last pass)', phase: instance.status?.phase ?? 'Running', statusChanged: false, warnings: [],
  };
}

/** The one place an instance's result is built: from what the pass saw, did and settled. */
export function instanceResult(a: Assessment, acted: Acted, settled: Settled): InstanceResult {
  return {
    namespace: a.namespace,
    name: a.name,
    action: acted.plan?.action ?? 'none',
    reasons: acted.plan?.reasons ?? [],
    // Waiting for the primary to move (a scale-down): nothing of the plan was written yet.
    writes: acted.waiting !== undefined ? [] : writesOf(acted.plan),
    message: !settled.error && acted.waiting !== undefined ? acted.waiting : messageOf(a, acted.plan, settled.error),
    phase: settled.phase,
    statusChanged: settled.statusChanged,
    ...(settled.error ? { error: settled.error } : {}),
    warnings: settled.warnings,
  };
}
