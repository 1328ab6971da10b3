import type { App } from 'cdk8s';
import { Construct } from 'constructs';
import { RedisArgoCd, type RedisArgoCdProps } from '../argocd/redis-argocd';
import { RedisInstanceCrd } from './crd';
import { RedisInstance } from './redis-instance';
import { RedisReconciler, type RedisReconcilerProps } from './reconciler';

/** RedisArgoCdProps, plus where the Argo CD chart goes. */
export interface RedisPlatformArgoCdProps extends RedisArgoCdProps {
  /**
   * Id of the chart that holds the Argo CD objects, created at the root of the app so
   * it gets a file of its own (`<chartId>.yaml` with `synthesize`, `<chartId>.k8s.yaml`
   * with `app.synth()`), which the Applications skip. Must be unique among the app's charts.
   * @default 'argocd'
   */
  readonly chartId?: string;
}

export interface RedisPlatformProps {
  /**
   * Include the RedisInstance CustomResourceDefinition. Turn it off when another
   * application installs the CRD.
   * @default true
   */
  readonly crd?: boolean;
  /**
   * The reconciler: its CronJob, ServiceAccount and RBAC. List in `secretNamespaces` the
   * namespaces whose instances use `spec.auth` (`namespacesWithAuth(app)` finds them once
   * every instance is defined); the reconciler may read Secrets only there. `false` leaves
   * the reconciler out (for example when another application installs it).
   * @default - the reconciler with its defaults, reading no Secrets
   */
  readonly reconciler?: RedisReconcilerProps | false;
  /**
   * Deploy with Argo CD: the Application(s) for dist/ and the argocd-cm patch with the
   * RedisInstance health check, in a chart of their own (see RedisArgoCd).
   * @default - no Argo CD objects
   */
  readonly argoCd?: RedisPlatformArgoCdProps;
}

/**
 * Everything a cluster needs once to run RedisInstances, for a cdk8s app of your own:
 * the RedisInstance CRD, the reconciler CronJob with its RBAC and, optionally, the Argo CD
 * objects that deploy dist/. Put RedisInstance constructs in any chart of the same app.
 *
 * @example
 * const app = new App();
 * new RedisPlatform(new Chart(app, 'platform'), 'redis', {
 *   argoCd: { repoURL: 'https://github.com/acme/platform.git' },
 * });
 * new RedisInstance(new Chart(app, 'cache'), 'cache', { namespace: 'web', image: 'redis:7.2.4-alpine' });
 * app.synth(); // or synthesizeToDirectory('dist', { define: ... }) for the per-instance layout
 */
export class RedisPlatform extends Construct {
  /** The CRD, unless `crd: false`. */
  public readonly crd?: RedisInstanceCrd;
  /** The reconciler, unless `reconciler: false`. */
  public readonly reconciler?: RedisReconciler;
  /** The Argo CD chart, when `argoCd` is given. */
  public readonly argoCd?: RedisArgoCd;

  constructor(scope: Construct, id: string, props: RedisPlatformProps = {}) {
    super(scope, id);
    if (props.crd ?? true) this.crd = new RedisInstanceCrd(this, 'crd');
    if (props.reconciler !== false) this.reconciler = new RedisReconciler(this, 'reconciler', props.reconciler ?? {});
    if (props.argoCd) {
      const { chartId = 'argocd', ...argoCd } = props.argoCd;
      this.argoCd = new RedisArgoCd(this.node.root as App, chartId, argoCd);
    }
  }
}

/** Namespaces of the RedisInstances under `scope` that use `spec.auth`, sorted. */
export function namespacesWithAuth(scope: Construct): string[] {
  const namespaces = scope.node.findAll().filter(RedisInstance.isRedisInstance).filter((r) => r.spec.auth).map((r) => r.namespace);
  return [...new Set(namespaces)].sort();
}
