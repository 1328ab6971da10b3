import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAll } from 'js-yaml';

/**
 * The package as a user gets it: `npm pack` (which builds lib/ through `prepack`), then a
 * fresh cdk8s app outside this repository installs the tarball from the npm cache and
 * uses the public API (`new RedisInstance(...)`, `new RedisPlatform(...)`) and the bin.
 */

const ROOT = join(__dirname, '..', '..');
const REPO_URL = 'https://git.example.com/platform/redis.git';

function sh(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options, env: { ...process.env, npm_config_update_notifier: 'false', ...options.env } });
  const out = `${result.stdout ?? ''}`;
  const err = `${result.stderr ?? ''}`;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${out}\n${err}`);
  return out;
}

/** The tiny app: the API through `require('redis-gitops')`, exporting synthOptions for `redis-gitops check`. */
const MAIN_JS = `const { Chart } = require('cdk8s');
const { RedisInstance, RedisPlatform, prepareForArgoCd, synthesizeToDirectory } = require('redis-gitops');

exports.synthOptions = {
  define: (app) => {
    new RedisPlatform(new Chart(app, 'platform'), 'redis', { argoCd: { repoURL: '${REPO_URL}', targetRevision: 'main' } });
    new RedisInstance(new Chart(app, 'cache'), 'cache', {
      namespace: 'web',
      image: 'redis:7.2.4-alpine',
      replicas: 2,
      storage: { size: '2Gi' },
      config: { 'maxmemory-policy': 'allkeys-lru' },
    });
  },
  finalize: prepareForArgoCd,
};

if (require.main === module) synthesizeToDirectory('dist', exports.synthOptions).then((code) => { process.exitCode = code; });
`;

/** The same with plain cdk8s `app.synth()`, in TypeScript, type-checked against the shipped declarations. */
const SYNTH_TS = `import { App, Chart } from 'cdk8s';
import { RedisInstance, RedisPlatform, type RedisInstanceProps, type RedisPlatformProps } from 'redis-gitops';

const app = new App({ outdir: 'cdk8s.out' });
const platform: RedisPlatformProps = { argoCd: { repoURL: '${REPO_URL}', layout: 'single' } };
new RedisPlatform(new Chart(app, 'platform'), 'redis', platform);
const cache: RedisInstanceProps = { namespace: 'web', image: 'redis:7.2.4-alpine' };
const instance = new RedisInstance(new Chart(app, 'cache'), 'cache', cache);
const hash: string = instance.configHash;
void hash;
app.synth();
`;

let work: string;
let appDir: string;
let tarball: string;
let packedFiles: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'redis-gitops-pack-'));
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT }));
  tarball = join(work, packed[0].filename);
  packedFiles = packed[0].files.map((f: { path: string }) => f.path);

  appDir = join(work, 'app');
  mkdirSync(appDir);
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'tiny-cdk8s-app', version: '0.0.0', private: true }, null, 2));
  writeFileSync(join(appDir, 'main.js'), MAIN_JS);
  writeFileSync(join(appDir, 'synth.ts'), SYNTH_TS);
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', tarball], { cwd: appDir });
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the compiled library with declarations, the CRD, the Lua health checks and the bin, and no sources or tests', () => {
    expect(packedFiles).toEqual(expect.arrayContaining([
      'package.json', 'lib/src/index.js', 'lib/src/index.d.ts', 'lib/src/api/redisinstance.crd.yaml',
      'lib/src/argocd/health.lua', 'lib/src/argocd/application-health.lua', 'lib/src/cli/bin.js',
    ]));
    expect(packedFiles.filter((f) => /^(src|test|charts|dist)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
  });

  it('synthesizes a tiny app that uses RedisInstance and RedisPlatform', () => {
    sh(process.execPath, ['main.js'], { cwd: appDir });
    const read = (f: string) => loadAll(readFileSync(join(appDir, 'dist', f), 'utf8')) as any[];
    const [crd] = read('platform.yaml');
    expect(crd).toMatchObject({ kind: 'CustomResourceDefinition', metadata: { name: 'redisinstances.redis.github.com' } });
    const [cm, application] = read('argocd.yaml');
    expect(cm.data['resource.customizations.health.redis.github.com_RedisInstance']).toContain('obj.status');
    expect(application.spec.source).toMatchObject({ repoURL: REPO_URL, targetRevision: 'main', path: 'dist' });
    const objects = read('instances/web/cache.yaml');
    expect(objects.map((o) => `${o.kind} ${o.metadata.annotations['argocd.argoproj.io/sync-wave']}`)).toEqual([
      'RedisInstance 0', 'ConfigMap 1', 'Service 1', 'Service 1', 'StatefulSet 1', 'PodDisruptionBudget 1', 'NetworkPolicy 1',
    ]);
    const sts = objects.find((o) => o.kind === 'StatefulSet');
    expect(sts.spec.replicas).toBe(2);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('2Gi');
    expect(objects.find((o) => o.kind === 'ConfigMap').data['redis.conf']).toContain('maxmemory-policy allkeys-lru');
  });

  it('its bin checks the app\'s dist/: 0 when up to date, 1 when stale', () => {
    const bin = join(appDir, 'node_modules', '.bin', 'redis-gitops');
    expect(sh(bin, ['check', '--app', 'main.js'], { cwd: appDir })).toBe('dist/ is up to date (3 files)\n');
    const file = join(appDir, 'dist', 'instances', 'web', 'cache.yaml');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('size: 2Gi', 'size: 1Gi'));
    const stale = spawnSync(bin, ['check', '--app', 'main.js'], { cwd: appDir, encoding: 'utf8' });
    expect(stale.status).toBe(1);
    expect(stale.stdout).toContain('spec.storage.size: "1Gi" → "2Gi"');
    writeFileSync(file, original);
  });

  it('type-checks a TypeScript app against the shipped declarations, and plain `app.synth()` adds the sync waves', () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    writeFileSync(join(appDir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, skipLibCheck: true, esModuleInterop: true, module: 'commonjs', target: 'es2022',
        moduleResolution: 'node10', types: [],
      },
      files: ['synth.ts'],
    }));
    sh(process.execPath, [tsc, '-p', '.'], { cwd: appDir });
    sh(join(ROOT, 'node_modules', '.bin', 'tsx'), ['synth.ts'], { cwd: appDir, env: { TSX_DISABLE_CACHE: '1' } });
    const out = join(appDir, 'cdk8s.out');
    expect(['platform.k8s.yaml', 'cache.k8s.yaml', 'argocd.k8s.yaml'].every((f) => existsSync(join(out, f)))).toBe(true);
    const [instance] = loadAll(readFileSync(join(out, 'cache.k8s.yaml'), 'utf8')) as any[];
    expect(instance.metadata.annotations).toEqual({
      'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true', 'argocd.argoproj.io/sync-wave': '0',
    });
  });
});
