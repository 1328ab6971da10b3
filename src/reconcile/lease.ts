import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { KubeApiError, type KubeClient } from './kube';

/**
 * A coordination.k8s.io/v1 Lease keeps two reconciler runs from acting at once. A run
 * takes it only when it has something to write, renews it while it works and releases it
 * at the end. Taking uses the Lease's resourceVersion, so of two runs taking at the same
 * time one gets 409 and stands down.
 */

export interface LeaseOptions {
  readonly namespace: string;
  readonly name: string;
  /** Unique per run (hostname, pid and a random suffix). */
  readonly holderIdentity: string;
  /** @default 60 */
  readonly durationSeconds?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export type LeaseResult =
  /** `replaced`: the resourceVersion of the Lease this take replaced (undefined: it created it). */
  | { readonly acquired: true; readonly lease: Lease; readonly replaced: string | undefined }
  | { readonly acquired: false; readonly holder: string; readonly until: Date };

function time(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value === 'string') {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

/** When a Lease stops being valid, or undefined when nobody holds it. */
export function leaseExpiry(lease: V1Lease | undefined): { holder: string; until: Date } | undefined {
  const holder = lease?.spec?.holderIdentity;
  if (!holder) return undefined;
  const renewed = time(lease?.spec?.renewTime) ?? time(lease?.spec?.acquireTime);
  if (!renewed) return undefined;
  return { holder, until: new Date(renewed.getTime() + (lease?.spec?.leaseDurationSeconds ?? 0) * 1000) };
}

/**
 * The Lease as a pass finds it before it reads anything: its resourceVersion (undefined
 * when there is none) and whether another run held it then. A take whose `replaced`
 * equals a free sighting's resourceVersion proves that no other run held the Lease, so
 * none acted, between the sighting and the take.
 */
export interface LeaseSighting {
  readonly resourceVersion: string | undefined;
  readonly free: boolean;
}

export async function sightLease(client: KubeClient, namespace: string, name: string, now: Date): Promise<LeaseSighting> {
  const lease = await client.get<V1Lease>('Lease', namespace, name);
  const held = leaseExpiry(lease);
  return { resourceVersion: lease?.metadata?.resourceVersion, free: !held || held.until <= now };
}

/** True when nobody took, renewed or released the Lease between a free sighting and this take. */
export function untouchedSince(sighting: LeaseSighting | undefined, taken: { replaced: string | undefined }): boolean {
  return sighting !== undefined && sighting.free && sighting.resourceVersion === taken.replaced;
}

export class Lease {
  private lease: V1Lease;
  private renewedAt: Date;

  private constructor(private readonly client: KubeClient, private readonly options: LeaseOptions, lease: V1Lease, at: Date) {
    this.lease = lease;
    this.renewedAt = at;
  }

  /** Take the Lease when it is free, expired or already ours; otherwise say who holds it until when. */
  static async acquire(client: KubeClient, options: LeaseOptions): Promise<LeaseResult> {
    const now = options.now ?? (() => new Date());
    const duration = options.durationSeconds ?? 60;
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await client.get<V1Lease>('Lease', options.namespace, options.name);
      const held = leaseExpiry(current);
      const at = now();
      if (held && held.holder !== options.holderIdentity && held.until > at) {
        return { acquired: false, holder: held.holder, until: held.until };
      }
      const spec = {
        holderIdentity: options.holderIdentity,
        leaseDurationSeconds: duration,
        acquireTime: new V1MicroTime(at.getTime()),
        renewTime: new V1MicroTime(at.getTime()),
        leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (current && held?.holder !== options.holderIdentity ? 1 : 0),
      };
      try {
        const lease = current
          ? await client.replace<V1Lease>('Lease', options.namespace, options.name, { ...current, spec })
          : await client.create<V1Lease>('Lease', options.namespace, {
            apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
            metadata: { name: options.name, namespace: options.namespace, labels: { 'app.kubernetes.io/managed-by': 'redis-gitops' } },
            spec,
          });
        return { acquired: true, lease: new Lease(client, { ...options, durationSeconds: duration }, lease, at), replaced: current?.metadata?.resourceVersion };
      } catch (error) {
        // Someone else wrote it between our read and our write: read again and decide again.
        if (error instanceof KubeApiError && (error.conflict || error.alreadyExists)) continue;
        throw error;
      }
    }
    const last = leaseExpiry(await client.get<V1Lease>('Lease', options.namespace, options.name));
    return { acquired: false, holder: last?.holder ?? 'unknown', until: last?.until ?? new Date(0) };
  }

  private renewing?: Promise<void>;

  /**
   * Renew when a third of the duration has passed. Throws when the Lease was lost. Callers
   * acting in parallel share one renewal (two PUTs with the same resourceVersion would
   * make the second look like a lost Lease).
   */
  async keep(): Promise<void> {
    if (this.renewing) return this.renewing;
    this.renewing = this.renew().finally(() => { this.renewing = undefined; });
    return this.renewing;
  }

  private async renew(): Promise<void> {
    const now = (this.options.now ?? (() => new Date()))();
    const duration = this.options.durationSeconds ?? 60;
    if (now.getTime() - this.renewedAt.getTime() < (duration * 1000) / 3) return;
    try {
      this.lease = await this.client.replace<V1Lease>('Lease', this.options.namespace, this.options.name, {
        ...this.lease, spec: { ...this.lease.spec, renewTime: new V1MicroTime(now.getTime()) },
      });
      this.renewedAt = now;
    } catch (error) {
      if (error instanceof KubeApiError && error.conflict) {
        throw new Error(`lost the Lease ${this.options.namespace}/${this.options.name} to another run; stopping`);
      }
      throw error;
    }
  }

  /** Give the Lease up so the next run need not wait for it to expire. Errors are ignored: it expires anyway. */
  async release(): Promise<void> {
    try {
      await this.client.replace('Lease', this.options.namespace, this.options.name, {
        ...this.lease,
        spec: { ...this.lease.spec, holderIdentity: undefined, renewTime: undefined, acquireTime: undefined },
      });
    } catch {
      // It expires after leaseDurationSeconds.
    }
  }
}
