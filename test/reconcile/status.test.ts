import { describe, expect, it } from 'vitest';
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { liveConfigHash } from '../../src/redis-conf/live-config';
import { instanceRedisConfig } from '../../src/render/instance';
import { CONFIG_STATUS_ANNOTATION } from '../../src/reconcile/live-config';
import type { RedisInstanceStatus } from '../../src/api/types';
import { computeStatus, desiredStatus, statusEqual, type StatusWarning } from '../../src/reconcile/status';
import type { Action, Plan } from '../../src/reconcile/plan';
import { ValidationIssue, validateRedisInstance } from '../../src/api/validate';
import { instanceObject } from './fixtures';

const now = new Date('2030-01-02T03:04:05.678Z');
const later = new Date('2030-01-02T03:09:05.000Z');

function planOf(action: Action, extra: Partial<Plan> = {}): Plan {
  return { action, reasons: [], childWrites: [], pvcExpansions: [], claimsKeepingSize: [], needsStorageClasses: false, message: action, ...extra };
}

function sts(replicas: number, status: { ready?: number; updated?: number; current?: string; update?: string; replicas?: number } = {}, generation = 1): V1StatefulSet {
  return {
    metadata: { name: 'cache', generation },
    spec: { replicas, selector: {}, template: {}, serviceName: 'cache' },
    status: {
      replicas: status.replicas ?? replicas, readyReplicas: status.ready ?? replicas, updatedReplicas: status.updated ?? replicas,
      currentRevision: status.current ?? 'cache-1', updateRevision: status.update ?? status.current ?? 'cache-1', observedGeneration: generation,
    },
  };
}

const spec = { image: 'redis:7.2.4-alpine', replicas: 3, failover: 'none' as const };
const running = (prev?: RedisInstanceStatus) => instanceObject(spec, { generation: 4 }, prev);

describe('computeStatus: phases by priority', () => {
  const rows: Array<{ name: string; input: Partial<Parameters<typeof desiredStatus>[0]>; phase: string; message: string | RegExp; ready?: string }> = [
    {
      name: 'Terminated beats everything', phase: 'Terminated', message: 'RedisInstance is being deleted; its claims are kept.',
      input: { instance: instanceObject(spec, { deletionTimestamp: '2030-01-01T00:00:00Z' }), issues: ['spec.image: bad'], error: 'boom' },
    },
    {
      name: 'Failed: invalid spec, with field paths', phase: 'Failed', ready: 'InvalidSpec',
      message: 'Invalid spec: spec.storage.size: must be a Kubernetes quantity; spec.config.port: is managed',
      input: { issues: [new ValidationIssue('web/cache', 'spec.storage.size', 'must be a Kubernetes quantity'), new ValidationIssue('web/cache', 'spec.config.port', 'is managed')] },
    },
    {
      name: 'Failed: refused (pods still serving stay Ready)', phase: 'Failed', ready: 'AllReplicasReady',
      message: 'Refused: storage cannot shrink', input: { plan: planOf('refuse', { message: 'Refused: storage cannot shrink' }), statefulSet: sts(3) },
    },
    { name: 'Failed: an action failed', phase: 'Failed', ready: 'ActionFailed', message: 'rolling-update failed: 500 InternalError', input: { plan: planOf('rolling-update'), error: '500 InternalError', statefulSet: sts(3, { ready: 2 }) } },
    {
      name: 'Updating: an action this pass', phase: 'Updating', ready: 'Updating', message: 'StatefulSet is being updated. Updated: 1/3, Ready: 2/3',
      input: { plan: planOf('rolling-update'), statefulSet: sts(3, { ready: 2, updated: 1 }) },
    },
    {
      name: 'Updating: rollout in progress (revisions differ)', phase: 'Updating', message: 'StatefulSet is being updated. Updated: 3/3, Ready: 3/3',
      input: { plan: planOf('none'), statefulSet: sts(3, { current: 'cache-1', update: 'cache-2' }), instance: running({ phase: 'Running' }) },
    },
    {
      name: 'Updating: the controller has not seen the new generation yet', phase: 'Updating', message: /being updated/,
      input: { plan: planOf('none'), statefulSet: { ...sts(3), metadata: { generation: 2 } }, instance: running({ phase: 'Running' }) },
    },
    { name: 'Creating: created this pass', phase: 'Creating', ready: 'Creating', message: 'StatefulSet is being created. Ready: 0/3', input: { plan: planOf('create'), statefulSet: { ...sts(3), status: {} as any } } },
    {
      name: 'Creating: still coming up after the first creation', phase: 'Creating', message: 'StatefulSet is being created. Ready: 1/3',
      input: { plan: planOf('none'), statefulSet: sts(3, { ready: 1, updated: 1, replicas: 1 }), instance: running({ phase: 'Creating' }) },
    },
    {
      name: 'Pending: was running, a replica is not ready', phase: 'Pending', ready: 'ReplicasNotReady', message: 'Waiting for replicas to become ready. Ready: 2/3',
      input: { plan: planOf('none'), statefulSet: sts(3, { ready: 2 }), instance: running({ phase: 'Running' }) },
    },
    { name: 'Running', phase: 'Running', ready: 'AllReplicasReady', message: 'All replicas are ready. Ready: 3/3', input: { plan: planOf('none'), statefulSet: sts(3), instance: running({ phase: 'Running' }) } },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const status = desiredStatus({ instance: running(), now, ...row.input } as Parameters<typeof desiredStatus>[0]);
      expect(status.phase).toBe(row.phase);
      if (typeof row.message === 'string') expect(status.message).toContain(row.message);
      else expect(status.message).toMatch(row.message);
      if (row.ready) expect(status.conditions!.find((c) => c.type === 'Ready')!.reason).toBe(row.ready);
      expect(status.ready).toBe(row.phase === 'Running');
    });
  }
});

describe('computeStatus: conditions and writes', () => {
  it('follows the API conventions: one condition per type, observedGeneration, CamelCase reasons', () => {
    const status = desiredStatus({ instance: running(), statefulSet: sts(3), plan: planOf('none'), now });
    expect(status).toMatchObject({ observedGeneration: 4, replicas: 3, readyReplicas: 3, updatedReplicas: 3 });
    expect(status.conditions!.map((c) => c.type)).toEqual(['Ready', 'Progressing', 'Degraded']);
    for (const c of status.conditions!) {
      expect(c.observedGeneration).toBe(4);
      expect(c.reason).toMatch(/^[A-Z][A-Za-z]*$/);
      expect(c.lastTransitionTime).toBe('2030-01-02T03:04:05Z');
    }
  });

  it('returns undefined when nothing but time changed, and keeps lastTransitionTime until a condition flips', () => {
    const first = desiredStatus({ instance: running(), statefulSet: sts(3), plan: planOf('none'), now });
    expect(computeStatus({ instance: running(first), statefulSet: sts(3), plan: planOf('none'), now: later })).toBeUndefined();
    const degraded = computeStatus({ instance: running(first), statefulSet: sts(3, { ready: 2 }), plan: planOf('none'), now: later })!;
    const byType = Object.fromEntries(degraded.conditions!.map((c) => [c.type, c]));
    expect(byType.Ready.status).toBe('False');
    expect(byType.Ready.lastTransitionTime).toBe('2030-01-02T03:09:05Z');
    expect(byType.Degraded.lastTransitionTime).toBe('2030-01-02T03:04:05Z');
  });

  it('reports a refusal once: the next pass finds the same status and writes nothing', () => {
    const refuse = planOf('refuse', { message: 'Refused: storage cannot shrink from 2Gi to 1Gi' });
    const first = desiredStatus({ instance: running(), statefulSet: sts(3), plan: refuse, now });
    expect(first.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'Refused' });
    expect(computeStatus({ instance: running(first), statefulSet: sts(3), plan: refuse, now: later })).toBeUndefined();
  });

  it('a pass right after a rolling update finds the status it wrote', () => {
    const acting = desiredStatus({ instance: running({ phase: 'Running' }), statefulSet: sts(3, { updated: 0, update: 'cache-2' }, 2), plan: planOf('rolling-update'), now });
    expect(computeStatus({ instance: running(acting), statefulSet: sts(3, { updated: 0, update: 'cache-2' }, 2), plan: planOf('none'), now: later })).toBeUndefined();
  });

  it('says when claims keep their size, as Degraded, without failing', () => {
    const status = desiredStatus({
      instance: running({ phase: 'Running' }), statefulSet: sts(3),
      plan: planOf('none', { claimsKeepingSize: [{ name: 'redis-data-cache-0', size: '1Gi', why: 'StorageClass standard does not allow volume expansion' }] }), now,
    });
    expect(status.phase).toBe('Running');
    expect(status.message).toBe('All replicas are ready. Ready: 3/3. Note: claim redis-data-cache-0 keeps its size 1Gi (StorageClass standard does not allow volume expansion).');
    expect(status.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'ClaimsNotExpanded' });
  });

  describe('Degraded names each cause with its own reason', () => {
    const keeping = planOf('none', { claimsKeepingSize: [{ name: 'redis-data-cache-0', size: '1Gi', why: 'it has no StorageClass' }] });
    const warning = (reason: StatusWarning['reason'], message: string): StatusWarning => ({ reason, message });
    const rows: Array<{ name: string; warnings: StatusWarning[]; plan?: Plan; reason: string; message: string }> = [
      { name: 'Secret missing', warnings: [warning('SecretNotFound', 'Secret a not found')], reason: 'SecretNotFound', message: 'Secret a not found' },
      { name: 'Secret key missing', warnings: [warning('SecretKeyMissing', 'Secret a has no key "k"')], reason: 'SecretKeyMissing', message: 'Secret a has no key "k"' },
      { name: 'Secrets unreadable', warnings: [warning('SecretsUnreadable', 'cannot read Secrets in web')], reason: 'SecretsUnreadable', message: 'cannot read Secrets in web' },
      { name: 'claims not expanded', warnings: [], plan: keeping, reason: 'ClaimsNotExpanded', message: 'claim redis-data-cache-0 keeps its size 1Gi (it has no StorageClass)' },
      {
        name: 'a Secret warning and claims: the Secret names the condition, the message lists both', warnings: [warning('SecretKeyMissing', 'Secret a has no key "k"')], plan: keeping,
        reason: 'SecretKeyMissing', message: 'Secret a has no key "k"; claim redis-data-cache-0 keeps its size 1Gi (it has no StorageClass)',
      },
    ];
    for (const row of rows) {
      it(row.name, () => {
        const status = desiredStatus({ instance: running({ phase: 'Running' }), statefulSet: sts(3), plan: row.plan ?? planOf('none'), warnings: row.warnings, now });
        expect(status.phase).toBe('Running');
        expect(status.message).toBe(`All replicas are ready. Ready: 3/3. Note: ${row.message}.`);
        expect(status.conditions!.find((c) => c.type === 'Degraded')).toEqual({
          type: 'Degraded', status: 'True', observedGeneration: 4, lastTransitionTime: '2030-01-02T03:04:05Z', reason: row.reason, message: row.message,
        });
      });
    }

    it('without warnings: AsExpected', () => {
      const status = desiredStatus({ instance: running({ phase: 'Running' }), statefulSet: sts(3), plan: planOf('none'), now });
      expect(status.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    });
  });

  it('statusEqual ignores timestamps and condition order only', () => {
    const a = desiredStatus({ instance: running(), statefulSet: sts(3), now });
    const b = { ...a, conditions: [...a.conditions!].reverse().map((c) => ({ ...c, lastTransitionTime: 'x' })) };
    expect(statusEqual(a, b)).toBe(true);
    expect(statusEqual(a, { ...a, readyReplicas: 2 })).toBe(false);
  });
});

describe('desiredStatus: ConfigApplied (instances with the pod agent)', () => {
  const resolvedOf = (extra: Record<string, unknown>) => validateRedisInstance(instanceObject({ ...spec, config: { maxmemory: '100mb' }, ...extra }), { origin: 'cluster' }).instance!;
  const hash = liveConfigHash(instanceRedisConfig(resolvedOf({ podAgent: true }).spec));
  const podWith = (name: string, annotation?: string): V1Pod => ({
    metadata: { name, ...(annotation !== undefined ? { annotations: { [CONFIG_STATUS_ANNOTATION]: annotation } } : {}) },
  });
  const statusOf = (extra: Record<string, unknown>, pods: V1Pod[]) => desiredStatus({
    instance: instanceObject({ ...spec, config: { maxmemory: '100mb' }, ...extra }, { generation: 4 }), statefulSet: sts(3), resolved: resolvedOf(extra), pods, now,
  });

  it('is derived from the pods\' config-status annotations, against the spec\'s live-config hash', () => {
    const pods = ['cache-0', 'cache-1', 'cache-2'].map((n) => podWith(n, `config=${hash}\tauth=current`));
    expect(statusOf({ podAgent: true }, pods).conditions?.find((c) => c.type === 'ConfigApplied')).toMatchObject({
      status: 'True', reason: 'Applied', message: `live config ${hash.slice(0, 12)} in force on 3/3 pods`, observedGeneration: 4,
    });
    pods[1] = podWith('cache-1', `config=${hash}\trefused=maxmemory ERR boom`);
    expect(statusOf({ podAgent: true }, pods).conditions?.find((c) => c.type === 'ConfigApplied')).toMatchObject({
      status: 'False', reason: 'Refused', message: `live config ${hash.slice(0, 12)}: cache-1 refused maxmemory (ERR boom); the previous values stay in force there`,
    });
    pods[1] = podWith('cache-1');
    expect(statusOf({ podAgent: true }, pods).conditions?.find((c) => c.type === 'ConfigApplied')).toMatchObject({ status: 'Unknown', reason: 'Pending' });
  });

  it('is absent without the pod agent (caches by default)', () => {
    const types = statusOf({}, [podWith('cache-0', `config=${hash}`)]).conditions?.map((c) => c.type);
    expect(types).toEqual(['Ready', 'Progressing', 'Degraded']);
  });
});
