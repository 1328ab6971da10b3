import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main';
import { captureIO } from '../support/cli';
import { FAST, startHarness, type Harness } from '../reconcile/harness';

/** `redis-gitops plan` and `redis-gitops reconcile`: flags, exit codes and output formats. */

let h: Harness;
const image = 'redis:7.2.4-alpine';

beforeAll(async () => {
  h = await startHarness({ autoReadyPods: true });
});
afterAll(async () => {
  await h.stop();
});
beforeEach(() => {
  for (const ri of h.server.list('redis.github.com/v1', 'RedisInstance')) {
    h.server.delete({ apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', namespace: ri.metadata.namespace, name: ri.metadata.name });
  }
  h.server.resetRequestLog();
});

const nonGet = () => h.server.requests.filter((r) => r.method !== 'GET');

describe('usage errors exit 2 with one line on stderr', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown output format', ['reconcile', '-o', 'yaml'], /option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are text, json/],
    ['-n with -A', ['plan', '-n', 'web', '-A'], /^error: use either -n\/--namespace or -A\/--all-namespaces, not both$/],
    ['a missing kubeconfig', ['plan', '--kubeconfig', '/nonexistent/kubeconfig'], /^error: kubeconfig \/nonexistent\/kubeconfig does not exist$/],
    ['an unknown context', ['plan', '--context', 'nope'], /^error: context "nope" is not in .* \(contexts: test\)$/],
    ['a bad --request-timeout', ['plan', '--request-timeout', 'soon'],
      /^error: option '--request-timeout <ms>' argument 'soon' is invalid\. --request-timeout must be a whole number from 1 to 600000, got "soon"\n$/],
    ['--request-timeout 0 (it used to become 10 s)', ['plan', '--request-timeout', '0'],
      /^error: option '--request-timeout <ms>' argument '0' is invalid\. --request-timeout must be a whole number from 1 to 600000, got "0"\n$/],
    ['--request-timeout past 10 minutes (Node\'s timer would refuse it)', ['reconcile', '--request-timeout', '99999999999'],
      /^error: option '--request-timeout <ms>' argument '99999999999' is invalid\. --request-timeout must be a whole number from 1 to 600000, got "99999999999"\n$/],
    ['--retries above the cap', ['reconcile', '--retries', '100000', '--retry-backoff', '0'],
      /^error: option '--retries <n>' argument '100000' is invalid\. --retries must be a whole number from 1 to 10, got "100000"\n$/],
    ['--retries 0', ['reconcile', '--retries', '0'], /^error: option '--retries <n>' argument '0' is invalid\. --retries must be a whole number from 1 to 10, got "0"\n$/],
    ['a fractional --retry-backoff', ['reconcile', '--retry-backoff', '1.5'],
      /^error: option '--retry-backoff <ms>' argument '1\.5' is invalid\. --retry-backoff must be a whole number from 0 to 60000, got "1\.5"\n$/],
    ['--pass-timeout above an hour', ['reconcile', '--pass-timeout', '3601'],
      /^error: option '--pass-timeout <s>' argument '3601' is invalid\. --pass-timeout must be a whole number from 1 to 3600, got "3601"\n$/],
    ['a namespace that is not a DNS-1123 label', ['plan', '-n', 'Bad NS!'],
      /^error: option '-n, --namespace <namespace>' argument 'Bad NS!' is invalid\. -n\/--namespace "Bad NS!" is not a valid namespace name: at most 63 characters, lowercase letters, digits and '-', starting and ending with a letter or digit\n$/],
    ['a namespace longer than 63 characters', ['plan', '-n', 'a'.repeat(64)], /^error: option '-n, --namespace <namespace>' argument 'a{64}' is invalid\. /],
    ['a bad --lease-namespace', ['reconcile', '--lease-namespace', 'Ops'], /^error: option '--lease-namespace <namespace>' argument 'Ops' is invalid\. --lease-namespace "Ops" is not a valid namespace name: /],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const io = captureIO();
      const withKubeconfig = args.includes('--kubeconfig') ? args : [...args, '--kubeconfig', h.kubeconfig];
      expect(await run(withKubeconfig, io)).toBe(2);
      expect(io.err.join('')).toMatch(message);
      expect(io.out).toEqual([]);
      expect(nonGet()).toEqual([]);
      expect(h.server.requests).toEqual([]);
    });
  }

  it('no kubeconfig anywhere and not in a pod', async () => {
    const io = captureIO({ HOME: mkdtempSync(join(tmpdir(), 'home-')) });
    expect(await run(['plan'], io)).toBe(2);
    expect(io.err).toEqual(['error: no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod']);
  });

  it('an empty kubeconfig file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
    writeFileSync(file, '\n');
    const io = captureIO();
    expect(await run(['plan', '--kubeconfig', file], io)).toBe(2);
    expect(io.err).toEqual([`error: kubeconfig ${file} is empty`]);
  });

  it('a current-context that names a missing context', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
    writeFileSync(file, h.server.kubeconfigYaml().replace(/current-context: .*/, 'current-context: gone'));
    const io = captureIO();
    expect(await run(['plan', '--kubeconfig', file], io)).toBe(2);
    expect(io.err).toEqual([`error: current-context "gone" of ${file} names a context that is not in it (contexts: test); pass --context`]);
  });

  it('a kubeconfig without current-context', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
    writeFileSync(file, h.server.kubeconfigYaml().replace(/current-context: .*/, ''));
    const io = captureIO();
    expect(await run(['plan', '--kubeconfig', file], io)).toBe(2);
    expect(io.err).toEqual([`error: ${file} sets no current-context; pass --context (contexts: test)`]);
  });

  it('a kubeconfig that is not one', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
    writeFileSync(file, 'clusters: 7\n');
    const io = captureIO();
    expect(await run(['plan', '--kubeconfig', file], io)).toBe(2);
    expect(io.err).toHaveLength(1);
    expect(io.err[0]).toMatch(/^error: /);
  });
});

describe('scope and kubeconfig', () => {
  it('uses $KUBECONFIG, and the context namespace when neither -n nor -A is given', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
    writeFileSync(file, h.server.kubeconfigYaml({ namespace: 'team-a' }));
    const io = captureIO({ KUBECONFIG: file });
    expect(await run(['plan', ...FAST], io)).toBe(0);
    expect(h.server.requests[0].path).toBe('/apis/redis.github.com/v1/namespaces/team-a/redisinstances');
  });

  it('-n lists in that namespace only, -A cluster-wide', async () => {
    h.instance('web', 'cache', { image });
    await h.cli(['plan', '-n', 'web']);
    expect(new Set(h.server.requests.map((r) => r.path.split('/namespaces/')[1]?.split('/')[0]))).toEqual(new Set(['web']));
    h.server.resetRequestLog();
    await h.cli(['plan', '-A']);
    expect(h.server.requests.every((r) => !r.path.includes('/namespaces/'))).toBe(true);
  });

  it('defaults to the namespace "default"', async () => {
    await h.cli(['plan']);
    expect(h.server.requests[0].path).toBe('/apis/redis.github.com/v1/namespaces/default/redisinstances');
  });
});

describe('plan', () => {
  it('prints a table of action and changes (old → new) and writes nothing', async () => {
    h.instance('web', 'cache', { image, replicas: 1 });
    await h.reconcile();
    h.server.settle();
    const current = h.get('RedisInstance', 'web', 'cache');
    h.server.update({ ...current, spec: { ...current.spec, replicas: 3, failover: 'none', image: 'redis:7.4.1-alpine' } });
    h.instance('web', 'new', { image });
    h.server.resetRequestLog();
    const { code, out, err } = await h.cli(['plan', '-A']);
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(nonGet()).toEqual([]);
    expect(out[0]).toMatch(/^NAMESPACE\s+NAME\s+ACTION\s+CHANGES\s+PHASE$/);
    expect(out[1]).toMatch(/^web\s+cache\s+rolling-update\s+spec\.replicas: 1 → 3; spec\.template\.spec\.containers\[redis\]\.image: redis:7\.2\.4-alpine → redis:7\.4\.1-alpine; .*create Service\/cache-primary; create PodDisruptionBudget\/cache\s+Updating$/);
    expect(out[2]).toMatch(/^web\s+new\s+create\s+StatefulSet\/new created; create ConfigMap\/new; create Service\/new\s+Creating$/);
  });

  it('-o json prints one JSON object per instance per line', async () => {
    h.instance('web', 'a', { image });
    h.instance('web', 'b', { image, storage: { size: 'big' } } as any);
    const { code, out } = await h.cli(['plan', '-A', '-o', 'json']);
    expect(code).toBe(0);
    expect(out).toHaveLength(2);
    const [a, b] = out.map((line) => JSON.parse(line));
    expect(a).toEqual({
      namespace: 'web', name: 'a', action: 'create', reasons: [{ object: 'StatefulSet/a', field: '', to: 'created' }],
      writes: ['create ConfigMap/a', 'create Service/a'], message: 'create StatefulSet a', phase: 'Creating', statusChanged: true, dryRun: true,
    });
    expect(b).toMatchObject({ name: 'b', action: 'none', phase: 'Failed', message: expect.stringContaining('invalid spec: spec.storage.size') });
  });

  it('says so when there is nothing to reconcile', async () => {
    const { code, out } = await h.cli(['plan', '-A']);
    expect(code).toBe(0);
    expect(out).toEqual(['No RedisInstances found.']);
  });
});

describe('reconcile', () => {
  it('--dry-run writes nothing, not even the Lease', async () => {
    h.instance('web', 'dry', { image });
    const { code, out } = await h.cli(['reconcile', '-A', '--dry-run', '-o', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(out[0])).toMatchObject({ name: 'dry', action: 'create', dryRun: true });
    expect(nonGet()).toEqual([]);
    expect(h.get('StatefulSet', 'web', 'dry')).toBeUndefined();
  });

  it('-v reports the request counts on stderr', async () => {
    const { code, err } = await h.cli(['reconcile', '-A', '-v']);
    expect(code).toBe(0);
    expect(err).toEqual([expect.stringMatching(/^0 instance\(s\), 1 request\(s\) \(get 0, list 1, create 0, update 0, patch 0, delete 0\) in \d+ ms, CPU \d+ ms, peak RSS \d+ MiB$/)]);
  });

  it('-v counts every request of an acting pass, the Lease release included, matching what the server saw', async () => {
    h.instance('web', 'counted', { image });
    const { code, err } = await h.cli(['reconcile', '-n', 'web', '-v']);
    expect(code).toBe(0);
    const counts = /(\d+) request\(s\) \(get (\d+), list (\d+), create (\d+), update (\d+), patch (\d+), delete (\d+)\)/.exec(err.join('\n'))!.slice(1).map(Number);
    const seen = (method: string) => h.server.requests.filter((r) => r.method === method).length;
    expect(counts[0]).toBe(h.server.requests.length);
    expect(counts[1] + counts[2]).toBe(seen('GET'));
    expect([counts[3], counts[4], counts[5], counts[6]]).toEqual([seen('POST'), seen('PUT'), seen('PATCH'), seen('DELETE')]);
    const last = h.server.requests[h.server.requests.length - 1];
    expect(`${last.method} ${last.path}`).toBe('PUT /apis/coordination.k8s.io/v1/namespaces/default/leases/redis-gitops-reconciler'); // the release
  });

  it('--pass-timeout bounds the pass, retries included: no request after it', async () => {
    h.server.injectFault({ method: 'GET', pathIncludes: '/redisinstances', count: 100, kind: 'timeout' });
    // Without the deadline: 10 attempts of 300 ms each.
    const { code, err } = await h.cli(['reconcile', '-A', '--retries', '10', '--pass-timeout', '1']);
    h.server.clearFaults();
    expect(code).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^error: list redisinstances: (not sent, the pass deadline \(\S+\) has passed; the next pass carries on|no answer \(timed out\) \(after [1-4] attempts; the pass deadline leaves no time for another\))$/);
    expect(h.server.requests.length).toBeLessThanOrEqual(4);
    expect(h.server.requests.length).toBeGreaterThanOrEqual(3);
  });

  it('is listed in --help with plan', async () => {
    const io = captureIO();
    await run(['--help'], io);
    expect(io.out.join('')).toMatch(/plan \[options\]\s+Show, per RedisInstance/);
    expect(io.out.join('')).toMatch(/reconcile \[options\]\s+Create, update or recreate/);
  });
});
