import { posix } from 'node:path';
import { Chart } from 'cdk8s';
import type { Construct, IConstruct } from 'constructs';
import { RedisInstance } from '../constructs/redis-instance';
import { DEFAULT_ARGOCD_NAMESPACE, IN_CLUSTER_SERVER } from './annotations';
import { ArgoCdApplication, type ArgoCdRetry } from './application';
import { ArgoCdConfigPatch } from './config-patch';
import { RECONCILER_IGNORE_DIFFERENCES, type ArgoCdIgnoreDifference } from './ignore-differences';
import { SYNC_WAVES, applyCrdPruneProtection, applySkipDryRun, applySyncWaves } from './sync-waves';

/**
 * - `single`: one Application deploys the whole dist/ folder. Simplest; right when every
 *   instance's namespace already exists (or is created outside Argo CD).
 * - `app-of-apps`: a root Application deploys child Applications: one for the platform
 *   (CRD, reconciler) and one per instance namespace (`dist/instances/<namespace>`), each
 *   with its own sync status, health and `CreateNamespace`. See docs/argocd.md.
 */
export type ArgoCdLayout = 'single' | 'app-of-apps';

export interface RedisArgoCdProps {
  /** Git repository that holds dist/, e.g. `https://github.com/acme/platform.git`. */
  readonly repoURL: string;
  /**
   * Branch, tag or commit to deploy.
   * @default 'HEAD'
   */
  readonly targetRevision?: string;
  /**
   * Folder of dist/ in the repository.
   * @default 'dist'
   */
  readonly path?: string;
  /**
   * Argo CD project of every Application.
   * @default 'default'
   */
  readonly project?: string;
  /**
   * Name of the Application (`single`) or of the root Application (`app-of-apps`; the
   * children are `<name>-platform` and `<name>-ns-<namespace>`).
   * @default 'redis-gitops'
   */
  readonly name?: string;
  /**
   * Argo CD's namespace: where the Applications and argocd-cm live.
   * @default 'argocd'
   */
  readonly argoCdNamespace?: string;
  /**
   * API server of the cluster the Redis instances run in.
   * @default 'https://kubernetes.default.svc' (the cluster Argo CD runs in)
   */
  readonly destinationServer?: string;
  /**
   * Name of a cluster registered in Argo CD, instead of `destinationServer`.
   * @default - use destinationServer
   */
  readonly destinationName?: string;
  /**
   * Default namespace of the (platform) Application, for objects that name none; with
   * `createNamespace` in the `single` layout, the namespace Argo CD creates.
   * @default - none (every namespaced object in dist/ names its namespace)
   */
  readonly destinationNamespace?: string;
  /**
   * How the Applications are laid out.
   * @default 'single'
   */
  readonly layout?: ArgoCdLayout;
  /**
   * `CreateNamespace=true`: in `app-of-apps`, each instance namespace's Application
   * creates its namespace; in `single`, only `destinationNamespace` is created.
   * @default false
   */
  readonly createNamespace?: boolean;
  /**
   * Sync automatically.
   * @default true
   */
  readonly automated?: boolean;
  /**
   * Delete from the cluster what was removed from Git.
   * @default true
   */
  readonly prune?: boolean;
  /**
   * Undo changes made in the cluster outside Git.
   * @default true
   */
  readonly selfHeal?: boolean;
  /**
   * Retries of failed syncs; `false` for none.
   * @default DEFAULT_RETRY
   */
  readonly retry?: ArgoCdRetry | false;
  /**
   * Fields Argo CD neither diffs nor overwrites.
   * @default RECONCILER_IGNORE_DIFFERENCES
   */
  readonly ignoreDifferences?: readonly ArgoCdIgnoreDifference[];
  /**
   * Folder of the per-instance files under `path` (the layout `synthesize` writes).
   * @default 'instances'
   */
  readonly instancesPath?: string;
}

const REDIS_ARGOCD = Symbol.for('redis-gitops.RedisArgoCd');

/**
 * The Argo CD side of redis-gitops, as a chart of its own: the Application(s) that deploy
 * dist/ and the argocd-cm patch with the RedisInstance health check. These objects are
 * applied once by hand to bootstrap (docs/argocd.md), so the Applications skip this
 * chart's files (`<chart id>*`, e.g. `argocd.yaml` and `argocd-apps.yaml`).
 *
 * Put it at the root of the app so it gets its own file. In `app-of-apps`, the child
 * Applications go to a sibling chart `<id>-apps`, the one file the root Application reads.
 *
 * `prepareForArgoCd(app)` must run once every chart exists: it adds the sync waves and,
 * for `app-of-apps`, one child Application per namespace that holds RedisInstances.
 * `app.synth()` runs it by itself; with `synthesize`/`synthesizeToDirectory`, pass
 * `finalize: prepareForArgoCd` (as charts/main.ts does).
 *
 * @example
 * new RedisArgoCd(app, 'argocd', { repoURL: 'https://github.com/acme/platform.git' });
 */
export class RedisArgoCd extends Chart {
  /** Tells RedisArgoCd charts apart from other constructs, also across copies of this library. */
  public static isRedisArgoCd(x: unknown): x is RedisArgoCd {
    return x !== null && typeof x === 'object' && REDIS_ARGOCD in x;
  }

  public readonly layout: ArgoCdLayout;
  /** `single`: the Application; `app-of-apps`: the root Application. */
  public readonly application: ArgoCdApplication;
  /** The argocd-cm patch with the health check(s). */
  public readonly configPatch: ArgoCdConfigPatch;
  /** `app-of-apps`: the chart of the child Applications. */
  public readonly appsChart?: Chart;
  /** `app-of-apps`: the child Application of the CRD, the reconciler and other shared files. */
  public readonly platformApplication?: ArgoCdApplication;

  private readonly props: RedisArgoCdProps;
  private readonly rootName: string;
  private readonly namespaceApps = new Map<string, ArgoCdApplication>();

  constructor(scope: Construct, id: string, props: RedisArgoCdProps) {
    super(scope, id);
    Object.defineProperty(this, REDIS_ARGOCD, { value: true });
    this.props = props;
    this.layout = props.layout ?? 'single';
    this.rootName = props.name ?? 'redis-gitops';
    const argoCdNamespace = props.argoCdNamespace ?? DEFAULT_ARGOCD_NAMESPACE;
    const ownFiles = `${id}*`;

    this.configPatch = new ArgoCdConfigPatch(this, 'config', {
      namespace: argoCdNamespace,
      applicationHealth: this.layout === 'app-of-apps',
    });

    if (this.layout === 'single') {
      this.application = new ArgoCdApplication(this, 'application', {
        ...this.common(),
        name: this.rootName,
        directory: { recurse: true, exclude: ownFiles },
        destination: this.destination(props.destinationNamespace),
        createNamespace: props.createNamespace,
      });
    } else {
      const appsChart = new Chart(scope, `${id}-apps`);
      this.appsChart = appsChart;
      // The root deploys Application objects, which live in Argo CD's own cluster and namespace.
      this.application = new ArgoCdApplication(this, 'application', {
        ...this.common(),
        name: this.rootName,
        directory: { recurse: false, include: `${appsChart.node.id}.*` },
        destination: { server: IN_CLUSTER_SERVER, namespace: argoCdNamespace },
        ignoreDifferences: [],
      });
      this.platformApplication = new ArgoCdApplication(appsChart, 'platform', {
        ...this.common(),
        name: `${this.rootName}-platform`,
        // The top-level files only: the CRD, the reconciler; not instances/, not Argo CD's own.
        directory: { recurse: false, exclude: ownFiles },
        destination: this.destination(props.destinationNamespace),
        syncWave: SYNC_WAVES.reconciler,
      });
    }

    // Runs before `app.synth()` and `Testing.synth()` render anything (cdk8s validates
    // every construct first); prepareForArgoCd is idempotent.
    this.node.addValidation({ validate: () => { prepareForArgoCd(this.node.root); return []; } });
  }

  /** `app-of-apps`: the child Applications of the instance namespaces, by namespace. */
  public get namespaceApplications(): ReadonlyMap<string, ArgoCdApplication> {
    return this.namespaceApps;
  }

  /**
   * `app-of-apps`: the child Application that deploys `<path>/<instancesPath>/<namespace>`
   * into `namespace`; created on first call. prepareForArgoCd calls it for every namespace
   * that holds a RedisInstance.
   */
  public addNamespaceApplication(namespace: string): ArgoCdApplication {
    if (!this.appsChart) throw new Error(`${this.node.path}: namespace applications need layout 'app-of-apps'`);
    const existing = this.namespaceApps.get(namespace);
    if (existing) return existing;
    const app = new ArgoCdApplication(this.appsChart, `ns-${namespace}`, {
      ...this.common(),
      name: `${this.rootName}-ns-${namespace}`,
      path: posix.join(this.props.path ?? 'dist', this.props.instancesPath ?? 'instances', namespace),
      directory: { recurse: true },
      destination: this.destination(namespace),
      createNamespace: this.props.createNamespace,
      syncWave: SYNC_WAVES.instances,
      // Removing the last instance of a namespace from Git prunes the child Application;
      // with prune on, its RedisInstances go with it, as they would in the single layout.
      cascadeDelete: this.props.prune ?? true,
    });
    this.namespaceApps.set(namespace, app);
    return app;
  }

  private common() {
    const p = this.props;
    return {
      namespace: p.argoCdNamespace ?? DEFAULT_ARGOCD_NAMESPACE,
      project: p.project,
      repoURL: p.repoURL,
      targetRevision: p.targetRevision,
      path: p.path,
      automated: p.automated,
      prune: p.prune,
      selfHeal: p.selfHeal,
      retry: p.retry,
      ignoreDifferences: p.ignoreDifferences ?? RECONCILER_IGNORE_DIFFERENCES,
    };
  }

  private destination(namespace: string | undefined) {
    const target = this.props.destinationName ? { name: this.props.destinationName } : { server: this.props.destinationServer ?? IN_CLUSTER_SERVER };
    return { ...target, ...(namespace ? { namespace } : {}) };
  }
}

/**
 * Finish an app for Argo CD once every chart exists, right before rendering:
 * - `app-of-apps` RedisArgoCd charts get one child Application per namespace that holds
 *   a RedisInstance;
 * - every object gets its sync wave (applySyncWaves);
 * - RedisInstances get `SkipDryRunOnMissingResource=true` (applySkipDryRun);
 * - the RedisInstance CRD gets `Prune=false` (applyCrdPruneProtection).
 * Idempotent. `synthesize()` runs it through SynthesizeOptions.finalize (charts/main.ts),
 * RedisArgoCd runs it at `app.synth()`.
 */
export function prepareForArgoCd(scope: IConstruct): void {
  const all = scope.node.findAll();
  const namespaces = [...new Set(all.filter(RedisInstance.isRedisInstance).map((r) => r.namespace))].sort();
  for (const c of all) {
    if (RedisArgoCd.isRedisArgoCd(c) && c.layout === 'app-of-apps') {
      for (const namespace of namespaces) c.addNamespaceApplication(namespace);
    }
  }
  applySyncWaves(scope);
  applySkipDryRun(scope);
  applyCrdPruneProtection(scope);
}
