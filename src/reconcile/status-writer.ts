import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { API_VERSION, KIND, type RedisInstanceObject, type RedisPhase } from '../api/types';
import type { Assessment } from './assess';
import type { EventRecord } from './execute';
import { KubeApiError, oneLine, type KubeClient } from './kube';
import type { Plan } from './plan';
import { planWrites } from './report';
import { computeStatus, desiredStatus, type StatusInput } from './status';

/**
 * The status step of a pass: the one place that turns what an instance is and what the pass
 * did into its status, writes it through the /status subresource when it changed, and
 * records the Events (which ones is decided here too). It runs whether the action worked or
 * failed; with `write: false` (a dry run, or a pass with nothing to write) it only computes.
 */

/** What acting on one instance did (or, when it was not acted on, what was planned and read). */
export interface Acted {
  /** The plan carried out (after any re-plan), or the plan when nothing was done. */
  readonly plan?: Plan;
  /** The StatefulSet as the last write returned it, or as read. */
  readonly statefulSet?: V1StatefulSet;
  /** Events for the actions taken. */
  readonly events: readonly EventRecord[];
  /** One line, when something failed after retries. */
  readonly error?: string;
  /** The instance's pods after any role-label correction (failover instances). */
  readonly pods?: readonly V1Pod[];
  /** The plan waits for the primary to move first (a scale-down): why, for the status. */
  readonly waiting?: string;
}

/** An instance the pass did not act on. */
export function notActed(a: Assessment, error?: string): Acted {
  return {
    plan: a.planned?.plan, statefulSet: a.planned?.live.statefulSet, events: [], pods: a.planned?.live.pods, ...(error ? { error } : {}),
  };
}

/** What the status step settled for one instance. */
export interface Settled {
  /** The phase the status has (or, without writing, would have). */
  readonly phase: RedisPhase;
  readonly statusChanged: boolean;
  /** The action's error, and the status write's if it failed too. */
  readonly error?: string;
  /** The assessment's warnings, and Events that could not be recorded. */
  readonly warnings: readonly string[];
}

/**
 * True when the pass leaves the instance as it read it (no write but the status, nothing
 * failed, nothing waits, no warning): its fingerprint then describes what the status says.
 */
function settledAsRead(a: Assessment, acted: Acted): boolean {
  return acted.plan !== undefined && !planWrites(acted.plan) && acted.plan.claimsKeepingSize.length === 0
    && acted.events.length === 0 && acted.error === undefined && acted.waiting === undefined && a.warnings.length === 0;
}

/** The input of the pure status computation. */
export function statusInput(a: Assessment, acted: Acted, now: Date): StatusInput {
  return {
    instance: a.instance,
    statefulSet: acted.statefulSet,
    plan: acted.plan,
    issues: a.desired.ok ? [] : a.desired.issues,
    warnings: a.warnings,
    error: acted.error,
    pods: acted.pods,
    ...(a.desired.ok ? { resolved: a.desired.resolved } : {}),
    ...(acted.waiting !== undefined ? { waiting: acted.waiting } : {}),
    ...(settledAsRead(a, acted) ? { fingerprint: a.fingerprint } : {}),
    now,
  };
}

/**
 * Event policy: the action's Events, and, when the status turns Failed without an action
 * (a refusal or an invalid spec), one Warning saying why. The next passes plan the same
 * refusal and write nothing, so it is recorded once.
 */
export function eventsFor(a: Assessment, acted: Acted, written: ReturnType<typeof computeStatus>): readonly EventRecord[] {
  if (written?.phase === 'Failed' && a.instance.status?.phase !== 'Failed' && acted.events.length === 0) {
    return [{ reason: acted.plan?.action === 'refuse' ? 'Refused' : 'InvalidSpec', type: 'Warning', message: written.message ?? 'Failed' }];
  }
  return acted.events;
}

export interface StatusWriterOptions {
  /** Write the status and the Events; false: only compute what they would be. */
  readonly write: boolean;
  readonly now: () => Date;
}

export class StatusWriter {
  constructor(private readonly client: KubeClient, private readonly options: StatusWriterOptions) {}

  async settle(a: Assessment, acted: Acted): Promise<Settled> {
    const at = this.options.now();
    const input = statusInput(a, acted, at);
    const status = computeStatus(input);
    const phase = (status ?? desiredStatus(input)).phase ?? 'Unknown';
    if (!this.options.write) {
      return { phase, statusChanged: status !== undefined, ...(acted.error ? { error: acted.error } : {}), warnings: a.warnings.map((w) => w.message) };
    }
    let error = acted.error;
    let events = acted.events;
    if (status) {
      try {
        // A merge patch: a fingerprint no longer true is removed explicitly.
        const clear = status.fingerprint === undefined && a.instance.status?.fingerprint !== undefined;
        await this.client.patchStatus(a.namespace, a.name, clear ? { ...status, fingerprint: null } : status);
        events = eventsFor(a, acted, status);
      } catch (e) {
        // A 404: the instance is gone since we read it.
        if (!(e instanceof KubeApiError && e.notFound)) {
          const message = e instanceof Error ? oneLine(e) : String(e);
          error = error ? `${error}; ${message}` : message;
        }
      }
    }
    const warnings = a.warnings.map((w) => w.message);
    for (const event of events) {
      const failed = await recordEvent(this.client, a.instance, event, at);
      if (failed) warnings.push(`Event ${event.reason} not recorded: ${failed}`);
    }
    return { phase, statusChanged: status !== undefined, ...(error ? { error } : {}), warnings };
  }
}

/** Record a core/v1 Event on the RedisInstance. Failures are returned, not thrown: Events are best effort. */
export async function recordEvent(client: KubeClient, instance: RedisInstanceObject, event: EventRecord, now: Date): Promise<string | undefined> {
  const namespace = instance.metadata.namespace ?? 'default';
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const suffix = `${now.getTime().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0')}`;
  try {
    await client.create('Event', namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${instance.metadata.name}.${suffix}`, namespace },
      involvedObject: {
        apiVersion: API_VERSION, kind: KIND, name: instance.metadata.name, namespace,
        uid: instance.metadata.uid, resourceVersion: instance.metadata.resourceVersion,
      },
      reason: event.reason,
      message: event.message.length > 1024 ? `${event.message.slice(0, 1021)}...` : event.message,
      type: event.type,
      source: { component: 'redis-gitops' },
      reportingComponent: 'redis-gitops',
      reportingInstance: hostname(),
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    });
    return undefined;
  } catch (error) {
    return error instanceof Error ? oneLine(error) : String(error);
  }
}
