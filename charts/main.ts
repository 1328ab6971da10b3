/**
 * The cdk8s app of this repository: `npm run synth` (or `cdk8s synth`) runs it.
 * It renders the CRD, the TypeScript-defined instances in ./examples.ts, every
 * RedisInstance in YAML under ./instances and the Argo CD objects that deploy dist/
 * (dist/argocd.yaml, see docs/argocd.md), puts a sync wave on every object, then replaces
 * dist/ in one step, or, on any invalid input, prints every problem and leaves dist/ as
 * it was.
 */
import { join } from 'node:path';
import { Chart, type App } from 'cdk8s';
import { RedisInstanceCrd, synthesizeToDirectory, type SynthesizeOptions } from '../src';
import { RedisArgoCd, prepareForArgoCd } from '../src/argocd';
import { defineExamples } from './examples';

/** The Git repository Argo CD deploys dist/ from: set it to this repository's URL. */
export const REPO_URL = 'https://github.com/example/redis-gitops.git';

export function defineCharts(app: App): void {
  new RedisInstanceCrd(new Chart(app, 'crds'), 'redisinstances');
  defineExamples(app);
  // dist/argocd.yaml: the Application that deploys dist/ and the argocd-cm patch with the
  // RedisInstance health check; applied once by hand (docs/argocd.md, "Bootstrap").
  new RedisArgoCd(app, 'argocd', { repoURL: REPO_URL, targetRevision: 'main', path: 'dist' });
}

/** What this repository synthesizes; `redis-gitops check` uses the same options. */
export const synthOptions: SynthesizeOptions = {
  define: defineCharts,
  instanceDirs: [join(__dirname, 'instances')],
  displayRoot: join(__dirname, '..'),
  // Sync waves on every object and SkipDryRunOnMissingResource on RedisInstances, once
  // the YAML instances exist too.
  finalize: prepareForArgoCd,
};

if (require.main === module) {
  process.exitCode = synthesizeToDirectory(process.env.CDK8S_OUTDIR ?? 'dist', synthOptions);
}
