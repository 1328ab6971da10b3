import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { load } from 'js-yaml';
import { Chart } from 'cdk8s';
import { synthesize, synthesizeToDirectory } from '../../src/synth/synthesize';
import { RedisInstance } from '../../src/constructs/redis-instance';
import { RedisInstanceCrd } from '../../src/constructs/crd';
import { synthOptions } from '../../charts/main';

const ROOT = join(__dirname, '..', '..');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'redis-gitops-synth-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), text);
}

function instanceYaml(name: string, namespace = 'web', extra = ''): string {
  return `apiVersion: redis.github.com/v1\nkind: RedisInstance\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  image: redis:7.2.4\n${extra}`;
}

/** Every file under `root`, relative path → content. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(root, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(root);
  return out;
}

function synthFromDir(extraDefine?: Parameters<typeof synthesize>[0]['define']) {
  return synthesize({ instanceDirs: [join(dir, 'instances')], displayRoot: dir, define: extraDefine });
}

describe('synthesize', () => {
  it('reads every YAML file recursively, several documents per file, and lays out one file per instance', () => {
    write('instances/web/all.yaml', `${instanceYaml('cache')}---\n# nothing here\n---\n${instanceYaml('queue', 'jobs')}---\n`);
    write('instances/deep/er/one.yml', instanceYaml('sessions', 'shop'));
    write('instances/notes.txt', 'not yaml, ignored');
    const { files, issues } = synthFromDir((app) => new RedisInstanceCrd(new Chart(app, 'crds'), 'crd'));
    expect(issues).toEqual([]);
    expect([...files.keys()]).toEqual(['crds.yaml', 'instances/jobs/queue.yaml', 'instances/shop/sessions.yaml', 'instances/web/cache.yaml']);
    const docs = files.get('instances/web/cache.yaml')!.split(/^---\n/m).map((d) => load(d) as any);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['RedisInstance/cache', 'ConfigMap/cache', 'Service/cache', 'StatefulSet/cache', 'NetworkPolicy/cache']);
    expect((load(files.get('crds.yaml')!) as any).metadata.name).toBe('redisinstances.redis.github.com');
  });

  it('writes YAML 1.1-ambiguous strings quoted so Kubernetes reads them as strings', () => {
    write('instances/a.yaml', instanceYaml('cache', 'web', '  config:\n    appendonly: "no"\n  resources:\n    limits:\n      cpu: "1"\n') + 'metadata2: x\n'.replace(/.*/, ''));
    write('instances/b.yaml', instanceYaml('labels', 'web').replace('  namespace: web', '  namespace: web\n  labels:\n    build: "1_000"\n    enabled: "yes"'));
    const { files } = synthFromDir();
    expect(files.get('instances/web/cache.yaml')).toMatch(/appendonly: 'no'/);
    expect(files.get('instances/web/cache.yaml')).toMatch(/cpu: '1'/);
    expect(files.get('instances/web/labels.yaml')).toMatch(/build: '1_000'/);
    expect(files.get('instances/web/labels.yaml')).toMatch(/enabled: 'yes'/);
  });

  it('is byte-for-byte deterministic, whatever the key order in the input', () => {
    write('a/instances/x.yaml', instanceYaml('cache', 'web', '  replicas: 2\n  config:\n    hz: "20"\n    maxmemory: 10mb\n  resources:\n    limits:\n      memory: 1Gi\n      cpu: "1"\n'));
    write('b/instances/x.yaml', `spec:\n  resources:\n    limits:\n      cpu: "1"\n      memory: 1Gi\n  config:\n    maxmemory: 10mb\n    hz: "20"\n  replicas: 2\n  image: redis:7.2.4\nmetadata:\n  namespace: web\n  name: cache\nkind: RedisInstance\napiVersion: redis.github.com/v1\n`);
    const a = synthesize({ instanceDirs: [join(dir, 'a/instances')] }).files;
    const b = synthesize({ instanceDirs: [join(dir, 'b/instances')] }).files;
    expect(b).toEqual(a);
    expect(synthesize({ instanceDirs: [join(dir, 'a/instances')] }).files).toEqual(a);
  });

  describe('bad input: every problem reported with file, line, object and field', () => {
    it('YAML that does not parse, with its line', () => {
      write('instances/broken.yaml', `${instanceYaml('ok')}---\napiVersion: redis.github.com/v1\nkind: RedisInstance\nmetadata:\n  name: [unclosed\n`);
      const { issues, files } = synthFromDir();
      expect(files.size).toBe(0);
      expect(issues).toHaveLength(1);
      expect(String(issues[0])).toMatch(/^instances\/broken\.yaml:13: YAML does not parse: /);
    });

    it('duplicate keys in a mapping', () => {
      write('instances/dup.yaml', instanceYaml('cache', 'web', '  replicas: 1\n  replicas: 2\n'));
      expect(synthFromDir().issues.map(String)).toEqual([expect.stringMatching(/^instances\/dup\.yaml:9: YAML does not parse: .*(duplicate|unique)/i)]);
    });

    it('a document that is not a RedisInstance', () => {
      write('instances/cm.yaml', `${instanceYaml('cache')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n`);
      expect(synthFromDir().issues.map(String)).toEqual([
        'instances/cm.yaml:9: not a RedisInstance: apiVersion "v1" and kind "ConfigMap" (expected apiVersion redis.github.com/v1, kind RedisInstance)',
      ]);
    });

    it('field errors point at the line of the field', () => {
      write('instances/bad.yaml', instanceYaml('cache', 'web', '  replicas: 0\n  storage:\n    size: 10GB\n  config:\n    dir: /tmp\n'));
      expect(synthFromDir().issues.map(String)).toEqual([
        'instances/bad.yaml:8: RedisInstance web/cache: spec.replicas: must be at least 1, got 0',
        'instances/bad.yaml:10: RedisInstance web/cache: spec.storage.size: must be a Kubernetes quantity such as "1Gi" or "500Mi", got "10GB"',
        'instances/bad.yaml:12: RedisInstance web/cache: spec.config.dir: "dir" is managed by redis-gitops and cannot be set in config',
      ]);
    });

    it('the same instance defined twice, in YAML and in TypeScript', () => {
      write('instances/a.yaml', instanceYaml('cache'));
      write('instances/b.yaml', `# comment\n${instanceYaml('cache')}`);
      write('instances/c.yaml', instanceYaml('sessions', 'shop'));
      const { issues } = synthFromDir((app) => new RedisInstance(new Chart(app, 'ts'), 'sessions', { namespace: 'shop', image: 'redis:7' }));
      expect(issues.map(String)).toEqual([
        'instances/b.yaml:5: RedisInstance web/cache: metadata.name: defined more than once (first defined in instances/a.yaml:1)',
        'instances/c.yaml:4: RedisInstance shop/sessions: metadata.name: defined more than once (first defined in TypeScript at ts/sessions)',
      ]);
    });

    it('errors in TypeScript-defined instances are collected with the YAML ones', () => {
      write('instances/a.yaml', instanceYaml('cache', 'web', '  replicas: -1\n'));
      const { issues } = synthFromDir((app) => new RedisInstance(new Chart(app, 'ts'), 'bad', { image: '' }));
      expect(issues.map(String)).toEqual([
        'RedisInstance default/bad: spec.image: must not be empty',
        'instances/a.yaml:8: RedisInstance web/cache: spec.replicas: must be at least 1, got -1',
      ]);
    });
  });
});

describe('synthesizeToDirectory', () => {
  it('replaces the output folder with exactly the new files', async () => {
    write('instances/a.yaml', instanceYaml('cache'));
    write('out/stale.yaml', 'old');
    const lines: string[] = [];
    expect(await synthesizeToDirectory(join(dir, 'out'), { instanceDirs: [join(dir, 'instances')] }, (l) => lines.push(l))).toBe(0);
    expect(Object.keys(tree(join(dir, 'out')))).toEqual(['instances/web/cache.yaml']);
    expect(lines).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['instances', 'out']); // no staging folder left behind
  });

  it('on any error prints every problem, exits 1 and leaves the output exactly as it was', async () => {
    write('out/crds.yaml', 'previous crds\n');
    write('out/instances/web/cache.yaml', 'previous cache\n');
    const before = tree(join(dir, 'out'));
    write('instances/a.yaml', instanceYaml('cache', 'web', '  replicas: 0\n'));
    write('instances/b.yaml', instanceYaml('other', 'web', '  image2: x\n'));
    write('instances/c.yaml', 'key: [');
    const lines: string[] = [];
    expect(await synthesizeToDirectory(join(dir, 'out'), { instanceDirs: [join(dir, 'instances')], displayRoot: dir }, (l) => lines.push(l))).toBe(1);
    expect(lines).toEqual([
      'error: instances/a.yaml:8: RedisInstance web/cache: spec.replicas: must be at least 1, got 0',
      'error: instances/b.yaml:8: RedisInstance web/other: spec.image2: unknown field (did you mean "image"?); known fields: image, replicas, resources, storage, config, failover, podAgent, sentinel, affinity, topologySpreadConstraints, auth, networkPolicy, metrics, tls',
      expect.stringMatching(/^error: instances\/c\.yaml:1: YAML does not parse/),
      `synth failed: 3 problems; ${join(dir, 'out')} was left unchanged`,
    ]);
    expect(tree(join(dir, 'out'))).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['instances', 'out']);
  });
});

describe('this repository', () => {
  it('ships committed dist/ equal to a fresh synth', () => {
    const { files, issues } = synthesize(synthOptions);
    expect(issues).toEqual([]);
    expect(tree(join(ROOT, 'dist'))).toEqual(Object.fromEntries(files));
  });

  it('synthesizes through the real app process into CDK8S_OUTDIR, as `cdk8s synth` runs it', () => {
    const out = join(dir, 'dist');
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'charts/main.ts')], { cwd: ROOT, env: { ...process.env, CDK8S_OUTDIR: out }, stdio: 'pipe' });
    expect(tree(out)).toEqual(tree(join(ROOT, 'dist')));
  });

  it('ships a small cache, a replicated instance with auth and a custom config', () => {
    const { files } = synthesize(synthOptions);
    const instances = [...files.entries()].filter(([p]) => p.startsWith('instances/')).map(([, t]) => load(t.split(/^---\n/m)[0]) as any);
    expect(instances.some((i) => i.spec.replicas === 1 && !i.spec.config)).toBe(true);
    expect(instances.some((i) => i.spec.replicas > 1 && i.spec.auth)).toBe(true);
    expect(instances.some((i) => Object.keys(i.spec.config ?? {}).length >= 3)).toBe(true);
  });
});
