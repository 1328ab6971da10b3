import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness';

/**
 * A password typed into the wrong field of a RedisInstance applied straight to a cluster
 * (the test API server, like a cluster without the CRD's schema, stores it as written):
 * the reconciler refuses the spec, and neither status.message, its conditions, Events
 * nor the `plan`/`reconcile` output may carry the value.
 */
const PASSWORD = 84736251;
const SECRETS = [String(PASSWORD), 's3cr3t-t0ken', 'hunter2-hunter2'];

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.stop());

describe('secrets in the reconciler\'s messages', () => {
  it('status, conditions, Events, plan and reconcile output name the fields but never show their values', async () => {
    h.instance('web', 'cache', {
      image: 'redis:7.2.4-alpine',
      config: { requirepass: PASSWORD, 'sentinel-auth-pass': ['hunter2-hunter2'] },
    } as any, { annotations: { 'example.com/api-token': { value: 's3cr3t-t0ken' } } });

    const plan = await h.cli(['plan', '-A']);
    const reconcile = await h.reconcile();
    const status = h.get('RedisInstance', 'web', 'cache').status;
    const events = h.server.list('v1', 'Event', 'web');

    expect(status.phase).toBe('Failed');
    expect(status.message).toBe('Invalid spec: '
      + 'metadata.annotations[example.com/api-token]: must be a string, got a map (value not shown: the key may hold a secret); '
      + 'spec.config.requirepass: must be a string, got a number (value not shown: the key may hold a secret); '
      + 'spec.config[sentinel-auth-pass]: must be a string, got a list (value not shown: the key may hold a secret)');
    const everything = JSON.stringify({ plan, reconcile, status, events });
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    expect(plan.out.join('\n')).toContain('spec.config.requirepass: must be a string, got a number (value not shown');
    expect(reconcile.lines[0]).toMatchObject({ name: 'cache', phase: 'Failed' });
  });
});
