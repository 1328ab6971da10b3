import { describe, expect, it } from 'vitest';
import { execute, type Planned } from '../../src/reconcile/execute';
import { KubeApiError, type KubeClient } from '../../src/reconcile/kube';
import { plan } from '../../src/reconcile/plan';
import { desired, liveFor } from './fixtures';

/**
 * What the test API server does not show: a real apiserver keeps an orphan-deleted
 * StatefulSet (deletionTimestamp, `orphan` finalizer) until the garbage collector has
 * released its pods, so the create that follows first meets AlreadyExists.
 */
function recreatePlan(): Planned {
  const from = desired({ image: 'redis:7.2.4-alpine' });
  const to = desired({ image: 'redis:7.2.4-alpine', storage: { size: '2Gi' } });
  const live = liveFor(from, { count: 0 });
  return { desired: to, live, plan: plan(to, live) };
}

function scriptedClient(script: { getUid: string[] }) {
  const calls: string[] = [];
  let creates = 0;
  const failingCreates = script.getUid.length;
  const client = {
    async delete(kind: string, _ns: string, name: string, options: unknown) { calls.push(`delete ${kind}/${name} ${JSON.stringify(options)}`); },
    async create(kind: string, _ns: string, body: any) {
      calls.push(`create ${kind}/${body.metadata.name}`);
      if (kind === 'StatefulSet' && creates++ < failingCreates) throw new KubeApiError(409, 'AlreadyExists', 'statefulsets.apps "cache" already exists');
      return { ...body, metadata: { ...body.metadata, uid: 'new-uid' } };
    },
    async get(kind: string, _ns: string, name: string) {
      calls.push(`get ${kind}/${name}`);
      const uid = script.getUid.shift();
      return uid ? { metadata: { name, uid, deletionTimestamp: '2030-01-01T00:00:00Z' } } : undefined;
    },
    async patch() { throw new Error('unexpected patch'); },
  };
  return { client: client as unknown as KubeClient, calls };
}

describe('execute: recreate against a StatefulSet that takes a while to go', () => {
  it('waits for the old one (same uid) to disappear, then creates', async () => {
    const planned = recreatePlan();
    expect(planned.plan.action).toBe('recreate');
    const oldUid = planned.live.statefulSet!.metadata!.uid!;
    const { client, calls } = scriptedClient({ getUid: [oldUid, oldUid] });
    const sleeps: number[] = [];
    const result = await execute(client, planned, { refresh: async () => { throw new Error('no refresh expected'); }, sleep: async (ms) => { sleeps.push(ms); }, goneDelayMs: 5 });
    expect(result.error).toBeUndefined();
    expect(result.statefulSet!.metadata!.uid).toBe('new-uid');
    expect(calls).toEqual([
      `delete StatefulSet/cache {"propagationPolicy":"Orphan","uid":"${oldUid}"}`,
      'create StatefulSet/cache', 'get StatefulSet/cache',
      'create StatefulSet/cache', 'get StatefulSet/cache',
      'create StatefulSet/cache',
    ]);
    expect(sleeps).toEqual([5, 5]);
    expect(result.events.map((e) => e.reason)).toEqual(['Recreated']);
  });

  it('re-plans when another StatefulSet appeared in between, and gives up cleanly after the wait', async () => {
    const planned = recreatePlan();
    const { client } = scriptedClient({ getUid: ['someone-elses'] });
    let refreshed = 0;
    const result = await execute(client, planned, {
      refresh: async () => { refreshed++; return { ...planned, plan: { ...planned.plan, action: 'none', childWrites: [], pvcExpansions: [] } }; },
      sleep: async () => undefined,
    });
    expect(refreshed).toBe(1);
    expect(result.plan.action).toBe('none');
    expect(result.error).toBeUndefined();

    const stuck = scriptedClient({ getUid: Array(5).fill(planned.live.statefulSet!.metadata!.uid) });
    const failed = await execute(stuck.client, planned, { refresh: async () => planned, sleep: async () => undefined, goneAttempts: 3 });
    expect(failed.error).toBe('StatefulSet web/cache is still being deleted after 3 checks; the next pass creates it');
    expect(failed.events).toEqual([{ reason: 'Failed', type: 'Warning', message: `recreate failed: ${failed.error}` }]);
  });
});
