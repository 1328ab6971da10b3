import { describe, expect, it } from 'vitest';
import { compareDist, diffValues, formatComparison, formatFieldChange, lineDiff, renderedRedisConfs } from '../../src/check';

const files = (entries: Record<string, string>) => new Map(Object.entries(entries));

const cache = (replicas: number, extra = '') => `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: cache
  namespace: web
  annotations:
    redis.github.com/template-hash: abc
spec:
  replicas: ${replicas}${extra}
`;

describe('diffValues', () => {
  it('reports every leaf that differs, with its path, old and new', () => {
    expect(diffValues(
      { spec: { replicas: 1, template: { containers: [{ image: 'a' }] } }, metadata: { labels: { x: '1' } } },
      { spec: { replicas: 2, template: { containers: [{ image: 'b' }, { image: 'c' }] } }, metadata: { labels: {} } },
    )).toEqual([
      { path: ['metadata', 'labels', 'x'], old: '1' },
      { path: ['spec', 'replicas'], old: 1, new: 2 },
      { path: ['spec', 'template', 'containers', 0, 'image'], old: 'a', new: 'b' },
      { path: ['spec', 'template', 'containers', 1], new: { image: 'c' } },
    ]);
    expect(diffValues({ a: '1' }, { a: 1 })).toEqual([{ path: ['a'], old: '1', new: 1 }]);
    expect(diffValues({ a: [1] }, { a: [1] })).toEqual([]);
  });

  it('formats paths like the validator and multi-line strings as changed lines', () => {
    expect(formatFieldChange({ path: ['metadata', 'annotations', 'redis.github.com/config-hash'], old: 'a', new: 'b' }))
      .toEqual(['metadata.annotations[redis.github.com/config-hash]: "a" → "b"']);
    expect(formatFieldChange({ path: ['spec', 'storage'], new: { size: '1Gi' } })).toEqual(['spec.storage: (absent) → {"size":"1Gi"}']);
    expect(formatFieldChange({ path: ['data', 'redis.conf'], old: 'port 6379\nappendonly no\n', new: 'port 6379\nappendonly yes\n' }))
      .toEqual(['data[redis.conf]:', '  - appendonly no', '  + appendonly yes']);
    expect(formatFieldChange({ path: ['x'], old: 'a'.repeat(300), new: 1 })[0]).toMatch(/^x: "a+… → 1$/);
  });

  it('lineDiff shows removals before additions, and only what changed', () => {
    expect(lineDiff('a\nb\nc', 'a\nB\nc\nd')).toEqual(['- b', '+ B', '+ d']);
    expect(lineDiff('x\r', 'x')).toEqual(['- x\\r', '+ x']);
  });
});

describe('compareDist', () => {
  it('is up to date when every file is byte-for-byte equal', () => {
    const c = compareDist(files({ 'a.yaml': cache(1) }), files({ 'a.yaml': cache(1) }));
    expect(c).toEqual({ upToDate: true, fileCount: 1, files: [] });
    expect(formatComparison(c, 'dist')).toEqual(['dist/ is up to date (1 files)']);
  });

  it('finds a changed field, a missing file and an extra file', () => {
    const synthesized = files({ 'crds.yaml': 'kind: A\n', 'instances/web/cache.yaml': cache(1), 'instances/data/new.yaml': cache(3).replace(/cache/g, 'new') });
    const committed = files({ 'crds.yaml': 'kind: A\n', 'instances/web/cache.yaml': cache(2), 'instances/old/gone.yaml': cache(1).replace(/cache/g, 'gone') });
    const c = compareDist(synthesized, committed);
    expect(c.upToDate).toBe(false);
    expect(c.fileCount).toBe(4);
    expect(c.files).toEqual([
      { file: 'instances/data/new.yaml', status: 'missing', objects: ['StatefulSet web/new'] },
      { file: 'instances/old/gone.yaml', status: 'extra', objects: ['StatefulSet web/gone'] },
      {
        file: 'instances/web/cache.yaml', status: 'changed',
        objects: [{ change: 'changed', object: 'StatefulSet web/cache', fields: [{ path: ['spec', 'replicas'], old: 2, new: 1 }] }],
      },
    ]);
    expect(formatComparison(c, 'dist')).toEqual([
      'dist/ is stale: 3 of 4 files differ from what the app synthesizes',
      '(old → new: committed → synthesized)',
      '',
      '+ instances/data/new.yaml: missing from dist/, the app synthesizes it (StatefulSet web/new)',
      '- instances/old/gone.yaml: in dist/ but no longer synthesized (StatefulSet web/gone)',
      '~ instances/web/cache.yaml',
      '    StatefulSet web/cache:',
      '      spec.replicas: 2 → 1',
      '',
      'Run `npm run synth` and commit dist/.',
    ]);
  });

  it('names objects added to or removed from a file', () => {
    const service = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: cache\n  namespace: web\n';
    const crd = 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x.example.com\n';
    const c = compareDist(files({ 'f.yaml': `${cache(1)}---\n${service}` }), files({ 'f.yaml': `${cache(1)}---\n${crd}` }));
    expect(c.files).toEqual([{
      file: 'f.yaml', status: 'changed',
      objects: [{ change: 'missing', object: 'Service web/cache' }, { change: 'extra', object: 'CustomResourceDefinition x.example.com' }],
    }]);
    expect(formatComparison(c, 'dist').slice(3, 6)).toEqual([
      '~ f.yaml',
      '    + Service web/cache: missing from dist/, the app synthesizes it',
      '    - CustomResourceDefinition x.example.com: in dist/ but no longer synthesized',
    ]);
  });

  it('calls a file stale when only its bytes differ, and says so', () => {
    const reformatted = cache(1).replace('replicas: 1', 'replicas:   1').replace('abc', "'abc'");
    const c = compareDist(files({ 'a.yaml': cache(1) }), files({ 'a.yaml': `# edited by hand\n${reformatted}` }));
    expect(c.files).toEqual([{ file: 'a.yaml', status: 'formatting', detail: 'same objects, different bytes (formatting, quoting or comments)' }]);
    const two = `${cache(1)}---\n${cache(1).replace(/cache/g, 'other')}`;
    const swapped = `${cache(1).replace(/cache/g, 'other')}---\n${cache(1)}`;
    expect(compareDist(files({ 'b.yaml': two }), files({ 'b.yaml': swapped })).files)
      .toEqual([{ file: 'b.yaml', status: 'formatting', detail: 'same objects in a different order' }]);
    expect(formatComparison(compareDist(files({ 'a.yaml': cache(1) }), files({ 'a.yaml': reformatted })), 'dist')[3])
      .toBe('~ a.yaml: formatting only: same objects, different bytes (formatting, quoting or comments)');
  });

  it('reports a committed file that is not YAML, and compares other files as text', () => {
    const c = compareDist(files({ 'a.yaml': cache(1), 'README': 'x\ny\n' }), files({ 'a.yaml': 'a: [1\n', 'README': 'x\nz\n' }));
    expect(c.files[0]).toMatchObject({ file: 'README', status: 'changed' });
    expect(c.files[1]).toMatchObject({ file: 'a.yaml', status: 'unparsable' });
    expect(formatComparison(c, 'dist').slice(3, 8)).toEqual(['~ README', '    text:', '      - z', '      + y', expect.stringMatching(/^~ a\.yaml: not valid YAML in dist\/: /)]);
  });
});

describe('renderedRedisConfs', () => {
  it('finds the redis.conf of every ConfigMap redis-gitops rendered', () => {
    const cm = (name: string, managed: boolean) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: web
  labels:
    app.kubernetes.io/managed-by: ${managed ? 'redis-gitops' : 'someone-else'}
data:
  redis.conf: |
    port 6379
`;
    expect(renderedRedisConfs(files({ 'b.yaml': cm('b', true), 'a.yaml': `${cm('a', true)}---\n${cm('x', false)}`, 'n.txt': 'redis.conf' })))
      .toEqual([{ instance: 'web/a', redisConf: 'port 6379\n' }, { instance: 'web/b', redisConf: 'port 6379\n' }]);
  });
});

describe('hostile committed files', () => {
  it('names from a committed file are bounded and quoted in the report; long values and lines are cut', () => {
    const name = `n${'x'.repeat(10_000)}`;
    const committed = files({
      'extra.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`,
      'cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: "${'v'.repeat(10_000)}"\n  conf: "${'l'.repeat(10_000)}\\nsecond"\n`,
    });
    const synthesized = files({ 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n  conf: "one\\ntwo"\n' });
    const lines = formatComparison(compareDist(synthesized, committed), 'dist');
    expect(lines).toContain(`- extra.yaml: in dist/ but no longer synthesized (ConfigMap "n${'x'.repeat(77)}…)`);
    expect(lines).toContain(`      data.a: "${'v'.repeat(118)}… → "b"`);
    expect(lines).toContain(`        - ${'l'.repeat(239)}…`);
    for (const line of lines) expect(line.length).toBeLessThan(300);
  });
});
