import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApiServer, type TestApiServer } from '../support/apiserver';

/**
 * Each command loads what it runs only when it runs: `reconcile` (what the CronJob runs)
 * must never load cdk8s, constructs or synth. Checked in a fresh Node process, through
 * require.cache after a real pass against an empty cluster.
 */

const ROOT = join(__dirname, '..', '..');

/** Run `redis-gitops <args>` in its own process; then require `after` (if any); report the modules loaded. */
function modulesAfter(args: string[], after?: string): Promise<{ code: number; modules: string[] }> {
  const script = `
    const { run } = require('./src/cli/main.ts');
    run(${JSON.stringify(args)}, { stdout() {}, stderr: (t) => process.stderr.write(t + '\\n'), env: {}, cwd: process.cwd() }).then((code) => {
      ${after ? `require(${JSON.stringify(after)});` : ''}
      process.stdout.write(JSON.stringify({ code, modules: Object.keys(require.cache) }));
    });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (status) => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`child exited ${status}: ${err}`));
      }
    });
  });
}

const packagesIn = (modules: string[]) => new Set(modules
  .map((m) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1])
  .filter((p): p is string => p !== undefined));
const sourcesIn = (modules: string[]) => modules.map((m) => m.startsWith(`${ROOT}/src/`) ? m.slice(ROOT.length + 1) : undefined).filter(Boolean);

let server: TestApiServer;
let dir: string;
let kubeconfig: string;
beforeAll(async () => {
  server = await startTestApiServer();
  dir = mkdtempSync(join(tmpdir(), 'lazy-'));
  kubeconfig = server.writeKubeconfig(dir);
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('commands load what they run, when they run', () => {
  it('reconcile runs a pass and loads no cdk8s, constructs, synth or construct module', async () => {
    const { code, modules } = await modulesAfter(['reconcile', '-A', '-o', 'json', '--kubeconfig', kubeconfig], './src/constructs/redis-instance.ts');
    expect(code).toBe(0);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /apis/redis.github.com/v1/redisinstances']);
    // Up to the pass: what was loaded before `after` is everything in the cache but what it brought.
    const before = modules.slice(0, modules.findIndex((m) => m.endsWith('/src/constructs/redis-instance.ts')));
    const packages = packagesIn(before);
    expect(packages.has('@kubernetes/client-node')).toBe(true);
    for (const heavy of ['cdk8s', 'cdk8s-plus-28', 'constructs']) expect(packages.has(heavy), heavy).toBe(false);
    // With no RedisInstance to plan, not even validation and planning are loaded (the CronJob's cold start).
    for (const planning of ['ajv', 'yaml']) expect(packages.has(planning), planning).toBe(false);
    const sources = sourcesIn(before);
    for (const step of ['src/api/validate.ts', 'src/reconcile/desired.ts', 'src/reconcile/plan.ts', 'src/reconcile/execute.ts', 'src/render/instance.ts', 'src/reconcile/status-writer.ts']) expect(sources, step).not.toContain(step);
    expect(sources).toContain('src/reconcile/run.ts');
    expect(sources.filter((s) => /^src\/(constructs|synth|check|argocd)\//.test(s!) && s !== 'src/check/load-app.ts')).toEqual([]);
    expect(sources).not.toContain('src/cli/check-run.ts');
    // The control: loading a construct afterwards does bring cdk8s, so the check above can fail.
    expect(packagesIn(modules).has('cdk8s')).toBe(true);
  });

  it('--help loads neither the Kubernetes client nor cdk8s', async () => {
    const { code, modules } = await modulesAfter(['--help']);
    expect(code).toBe(0);
    const packages = packagesIn(modules);
    for (const heavy of ['@kubernetes/client-node', 'cdk8s', 'constructs']) expect(packages.has(heavy), heavy).toBe(false);
  });
});
