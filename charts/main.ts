/**
 * The cdk8s app of this repository: `npm run synth` (or `cdk8s synth`) runs it.
 * It renders the CRD, the TypeScript-defined instances in ./examples.ts, every
 * RedisInstance in YAML under ./instances, the reconciler's CronJob and RBAC, and the
 * Argo CD objects that deploy dist/ (dist/argocd.yaml, see docs/argocd.md), puts a sync
 * wave on every object, then replaces dist/ in one step, or, on any invalid input, prints
 * every problem and leaves dist/ as it was.
 */
import { join } from 'node:path';
import { ApiObject, Chart, type App } from 'cdk8s';
import {
  RedisInstanceCrd, RedisReconciler, namespacesWithAuth, synthesizeToDirectory, type SynthesizeOptions,
} from '../src';
import { RedisArgoCd, prepareForArgoCd } from '../src/argocd';
import { defineExamples } from './examples';

/** The Git repository Argo CD deploys dist/ from: set it to this repository's URL. */
export const REPO_URL = 'https://github.com/example/redis-gitops.git';

/** Where the reconciler runs. */
export const RECONCILER_NAMESPACE = 'redis-gitops';

export function defineCharts(app: App): void {
  new RedisInstanceCrd(new Chart(app, 'crds'), 'redisinstances');
  defineExamples(app);
  // dist/argocd.yaml: the Application that deploys dist/ and the argocd-cm patch with the
  // RedisInstance health check; applied once by hand (docs/argocd.md, "Bootstrap").
  new RedisArgoCd(app, 'argocd', { repoURL: REPO_URL, targetRevision: 'main', path: 'dist' });
}

/**
 * dist/reconciler.yaml: its namespace (Pod Security "restricted" enforced), the CronJob and
 * least-privilege RBAC. Defined once every instance exists: it may read Secrets only in
 * the namespaces whose instances use spec.auth.
 */
export function defineReconciler(app: App): void {
  const chart = new Chart(app, 'reconciler');
  new ApiObject(chart, 'namespace', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: RECONCILER_NAMESPACE,
      labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' },
    },
  });
  new RedisReconciler(chart, 'reconciler', { namespace: RECONCILER_NAMESPACE, secretNamespaces: namespacesWithAuth(app) });
}

/** What this repository synthesizes; `redis-gitops check` uses the same options. */
export const synthOptions: SynthesizeOptions = {
  define: defineCharts,
  instanceDirs: [join(__dirname, 'instances')],
  displayRoot: join(__dirname, '..'),
  // Once the YAML instances exist too: the reconciler (which needs their namespaces),
  // then sync waves on every object and SkipDryRunOnMissingResource on RedisInstances.
  finalize: (app) => {
    defineReconciler(app);
    prepareForArgoCd(app);
  },
};

if (require.main === module) {
  synthesizeToDirectory(process.env.CDK8S_OUTDIR ?? 'dist', synthOptions).then((code) => {
    process.exitCode = code;
  });
}
