import { describe, expect, it } from 'vitest';
import { loadAll } from 'js-yaml';
import { App, Chart } from 'cdk8s';
import { synthOptions } from '../../charts/main';
import { RedisArgoCd, prepareForArgoCd } from '../../src/argocd';
import { RedisInstance } from '../../src/constructs/redis-instance';
import { synthesize } from '../../src/synth';
import { isArgoCdObject, schemaErrors, unknownFieldErrors } from './argo-schema';

function argoObjectsOf(files: Map<string, string>): any[] {
  return [...files.values()].flatMap((text) => loadAll(text) as any[]).filter(isArgoCdObject);
}

/** Every variant of what RedisArgoCd renders, through the same synth as dist/. */
function variants(): Array<[string, any[]]> {
  const define = (props: ConstructorParameters<typeof RedisArgoCd>[2]) => (app: App) => {
    const chart = new Chart(app, 'instances-ts');
    new RedisInstance(chart, 'cache', { namespace: 'web', image: 'redis:7.2.4-alpine' });
    new RedisInstance(chart, 'sessions', { namespace: 'shop', image: 'redis:7.2.4-alpine', replicas: 3 });
    new RedisArgoCd(app, 'argocd', props);
  };
  const run = (props: ConstructorParameters<typeof RedisArgoCd>[2]) => {
    const { files, issues } = synthesize({ define: define(props), finalize: prepareForArgoCd });
    expect(issues).toEqual([]);
    return argoObjectsOf(files);
  };
  const repoURL = 'https://git.example.com/platform/redis.git';
  return [
    ['this repository\'s dist/', argoObjectsOf(synthesize(synthOptions).files)],
    ['app-of-apps, every option', run({
      repoURL, layout: 'app-of-apps', targetRevision: 'v1.2.3', path: 'deploy/dist', project: 'redis', name: 'redis',
      argoCdNamespace: 'gitops', destinationName: 'prod-eu', destinationNamespace: 'redis-system', createNamespace: true,
      retry: { limit: 3, backoff: { duration: '10s', factor: 3, maxDuration: '1m' } },
    })],
    ['single, without automation or retries', run({
      repoURL, automated: false, retry: false, destinationServer: 'https://10.0.0.1:6443', destinationNamespace: 'redis', createNamespace: true,
    })],
  ];
}

describe('generated Argo CD objects', () => {
  const all = variants();

  it.each(all)('%s: valid against Argo CD\'s published schemas', (_name, objects) => {
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.flatMap(schemaErrors)).toEqual([]);
  });

  it('use no field the schemas do not know (TypeScript excess-property check, one compile)', () => {
    expect(unknownFieldErrors(all.flatMap(([, objects]) => objects))).toEqual([]);
  }, 30_000);

  it('the checks catch what they should: a wrong type, a missing field, an unknown field', () => {
    const bad = {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'bad' },
      spec: { project: 'default', destination: {}, source: { path: 'dist' }, syncPolicy: { automated: { prune: 'yes' }, syncOption: [] } },
    };
    expect(schemaErrors(bad)).toEqual(expect.arrayContaining([
      'Application/bad: /spec/source must have required property repoURL',
      'Application/bad: /spec/syncPolicy/automated/prune must be boolean',
    ]));
    const typo = {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'typo' },
      spec: { project: 'default', destination: {}, source: { repoURL: 'x' }, syncPolicy: { syncOption: ['PruneLast=true'] } },
    };
    expect(schemaErrors(typo)).toEqual([]);
    expect(unknownFieldErrors([typo]).join('\n')).toMatch(/only specify known properties.*syncOption/);
  }, 30_000);
});
