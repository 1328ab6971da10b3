import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LuaFactory } from 'wasmoon';
import { App } from 'cdk8s';
import {
  APPLICATION_HEALTH_KEY, REDIS_INSTANCE_HEALTH_KEY, RedisArgoCd, applicationHealthLua, prepareForArgoCd, redisInstanceHealthLua,
} from '../../src/argocd';

/**
 * The health checks run in a real Lua VM (wasmoon: Lua 5.4 compiled to WebAssembly), the
 * way Argo CD runs them: the live object in the global `obj`, the script's return value
 * read as {status, message}. The scripts stick to Lua 5.1, which Argo CD's gopher-lua runs.
 */

interface HealthStatus { status: string; message: string }

const ARGO_HEALTH_STATUSES = ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'];

let factory: LuaFactory;
beforeAll(() => { factory = new LuaFactory(); });
afterAll(() => { factory = undefined as unknown as LuaFactory; });

async function runHealth(script: string, obj: unknown): Promise<HealthStatus> {
  const lua = await factory.createEngine();
  try {
    // A deep copy, as Argo CD converts the object to Lua tables.
    lua.global.set('obj', JSON.parse(JSON.stringify(obj)));
    const result = await lua.doString(script);
    expect(Object.keys(result).sort()).toEqual(['message', 'status']);
    expect(ARGO_HEALTH_STATUSES).toContain(result.status);
    expect(typeof result.message).toBe('string');
    return result as HealthStatus;
  } finally {
    lua.global.close();
  }
}

/** The script exactly as dist/ delivers it: the argocd-cm data of a synthesized RedisArgoCd. */
function deliveredScripts(): Record<string, string> {
  const app = new App();
  const argo = new RedisArgoCd(app, 'argocd', { repoURL: 'https://git.example.com/platform.git', layout: 'app-of-apps' });
  prepareForArgoCd(app);
  return argo.configPatch.apiObject.toJson().data;
}

function redisInstance(status?: Record<string, unknown>, generation = 2) {
  return {
    apiVersion: 'redis.github.com/v1',
    kind: 'RedisInstance',
    metadata: { name: 'cache', namespace: 'web', generation, uid: '0b0e9c3e-1' },
    spec: { image: 'redis:7.2.4-alpine', replicas: 3 },
    ...(status ? { status } : {}),
  };
}

describe('RedisInstance health check (Lua)', () => {
  const script = redisInstanceHealthLua();

  it('is delivered unchanged as the argocd-cm key for redis.github.com/RedisInstance', () => {
    expect(REDIS_INSTANCE_HEALTH_KEY).toBe('resource.customizations.health.redis.github.com_RedisInstance');
    expect(deliveredScripts()[REDIS_INSTANCE_HEALTH_KEY]).toBe(script);
  });

  it('Running and ready is Healthy, with the reconciler\'s message', async () => {
    expect(await runHealth(deliveredScripts()[REDIS_INSTANCE_HEALTH_KEY], redisInstance({
      phase: 'Running', ready: true, observedGeneration: 2, message: 'All 3 replicas are ready', replicas: 3, readyReplicas: 3,
    }))).toEqual({ status: 'Healthy', message: 'All 3 replicas are ready' });
  });

  it('Running but not ready is Progressing', async () => {
    expect(await runHealth(script, redisInstance({ phase: 'Running', ready: false, observedGeneration: 2, message: 'Ready: 2/3' })))
      .toEqual({ status: 'Progressing', message: 'Ready: 2/3' });
    expect(await runHealth(script, redisInstance({ phase: 'Running', observedGeneration: 2 })))
      .toEqual({ status: 'Progressing', message: 'Running, not all replicas are ready' });
  });

  it.each(['Creating', 'Updating', 'Pending'])('%s is Progressing, message passed through', async (phase) => {
    const message = phase === 'Updating' ? 'StatefulSet is being updated. Updated: 1/3, Ready: 2/3' : `${phase} the StatefulSet`;
    expect(await runHealth(script, redisInstance({ phase, ready: false, observedGeneration: 2, message })))
      .toEqual({ status: 'Progressing', message });
    expect(await runHealth(script, redisInstance({ phase, observedGeneration: 2 })))
      .toEqual({ status: 'Progressing', message: phase });
  });

  it('failover: Running or Pending without a single ready primary is Degraded with the PrimaryAvailable message', async () => {
    const primary = (status: string, reason: string, message: string) => ({ type: 'PrimaryAvailable', status, reason, message, lastTransitionTime: '2026-12-01T00:00:00Z' });
    const noPrimary = primary('False', 'NoPrimary', 'No pod is labelled redis.github.com/role=primary: writes through cache-primary fail.');
    for (const phase of ['Running', 'Pending']) {
      expect(await runHealth(script, redisInstance({ phase, ready: phase === 'Running', observedGeneration: 2, message: 'All replicas are ready.', conditions: [noPrimary] })))
        .toEqual({ status: 'Degraded', message: 'No pod is labelled redis.github.com/role=primary: writes through cache-primary fail.' });
    }
    // While pods are created or rolled, a moment without a primary is expected.
    expect(await runHealth(script, redisInstance({ phase: 'Updating', observedGeneration: 2, message: 'StatefulSet is being updated.', conditions: [noPrimary] })))
      .toEqual({ status: 'Progressing', message: 'StatefulSet is being updated.' });
    // A primary that serves, with replicas not linked yet, is judged by the phase.
    const unlinked = primary('True', 'ReplicasNotLinked', 'cache-0 is the primary; cache-2 not ready.');
    expect(await runHealth(script, redisInstance({ phase: 'Running', ready: true, observedGeneration: 2, message: 'All replicas are ready.', primary: 'cache-0', conditions: [unlinked] })))
      .toEqual({ status: 'Healthy', message: 'All replicas are ready.' });
  });

  it('Failed is Degraded, message passed through', async () => {
    const message = 'spec.storage.size: cannot shrink from 5Gi to 1Gi; nothing was changed';
    expect(await runHealth(script, redisInstance({ phase: 'Failed', ready: false, observedGeneration: 2, message })))
      .toEqual({ status: 'Degraded', message });
    expect(await runHealth(script, redisInstance({ phase: 'Failed', observedGeneration: 2 })))
      .toEqual({ status: 'Degraded', message: 'Failed' });
  });

  it('a status for an older generation is Progressing, even when it says Running', async () => {
    expect(await runHealth(script, redisInstance({ phase: 'Running', ready: true, observedGeneration: 1, message: 'All 3 replicas are ready' }, 2)))
      .toEqual({
        status: 'Progressing',
        message: 'Waiting for the reconciler to observe generation 2 (status describes generation 1): All 3 replicas are ready',
      });
    expect(await runHealth(script, redisInstance({ phase: 'Failed', ready: false }, 7)))
      .toEqual({ status: 'Progressing', message: 'Waiting for the reconciler to observe generation 7 (status describes no generation)' });
  });

  it('no status yet is Progressing, with a message saying what it waits for', async () => {
    expect(await runHealth(script, redisInstance())).toEqual({
      status: 'Progressing', message: 'Waiting for the redis-gitops reconciler to report status',
    });
  });

  it('Terminated (being deleted) is Progressing', async () => {
    expect(await runHealth(script, redisInstance({ phase: 'Terminated', observedGeneration: 2 })))
      .toEqual({ status: 'Progressing', message: 'Being deleted' });
  });

  it('without a phase, falls back to the Ready and Degraded conditions', async () => {
    const condition = (type: string, status: string, message: string) => ({
      type, status, message, reason: 'Test', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 2,
    });
    expect(await runHealth(script, redisInstance({
      phase: 'Unknown', observedGeneration: 2,
      conditions: [condition('Progressing', 'False', 'idle'), condition('Degraded', 'True', 'PVC expansion refused')],
    }))).toEqual({ status: 'Degraded', message: 'PVC expansion refused' });
    expect(await runHealth(script, redisInstance({
      observedGeneration: 2, conditions: [condition('Degraded', 'False', 'fine'), condition('Ready', 'True', 'all ready')],
    }))).toEqual({ status: 'Healthy', message: 'all ready' });
    expect(await runHealth(script, redisInstance({ observedGeneration: 2 })))
      .toEqual({ status: 'Unknown', message: 'The reconciler reports no phase' });
  });

  it('an unexpected phase is Unknown and says which', async () => {
    expect(await runHealth(script, redisInstance({ phase: 'Exploding', observedGeneration: 2, message: 'boom' })))
      .toEqual({ status: 'Unknown', message: 'Unknown phase Exploding: boom' });
  });

  it('an object without metadata.generation is judged on its phase alone', async () => {
    const obj: any = redisInstance({ phase: 'Running', ready: true, message: 'ok' });
    delete obj.metadata.generation;
    expect(await runHealth(script, obj)).toEqual({ status: 'Healthy', message: 'ok' });
  });
});

describe('Application health check (Lua, app-of-apps)', () => {
  const script = applicationHealthLua();
  const application = (status?: object) => ({
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'redis-gitops-platform', namespace: 'argocd' },
    spec: {}, ...(status ? { status } : {}),
  });

  it('is delivered as the argocd-cm key for argoproj.io/Application in the app-of-apps layout', () => {
    expect(APPLICATION_HEALTH_KEY).toBe('resource.customizations.health.argoproj.io_Application');
    expect(deliveredScripts()[APPLICATION_HEALTH_KEY]).toBe(script);
  });

  it('reports the child application\'s own health', async () => {
    expect(await runHealth(script, application({ health: { status: 'Healthy' }, sync: { status: 'Synced' } })))
      .toEqual({ status: 'Healthy', message: '' });
    expect(await runHealth(script, application({ health: { status: 'Degraded', message: 'cache is Failed' } })))
      .toEqual({ status: 'Degraded', message: 'cache is Failed' });
  });

  it('is Progressing until the child reports health', async () => {
    expect(await runHealth(script, application())).toEqual({ status: 'Progressing', message: 'Waiting for the application to report health' });
    expect(await runHealth(script, application({ sync: { status: 'OutOfSync' } })))
      .toEqual({ status: 'Progressing', message: 'Waiting for the application to report health' });
  });
});
