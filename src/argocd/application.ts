import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import {
  DEFAULT_ARGOCD_NAMESPACE, IN_CLUSTER_SERVER, RESOURCES_FINALIZER, SYNC_WAVE_ANNOTATION,
} from './annotations';
import { RECONCILER_IGNORE_DIFFERENCES, type ArgoCdIgnoreDifference } from './ignore-differences';

export const APPLICATION_API_VERSION = 'argoproj.io/v1alpha1';
export const APPLICATION_KIND = 'Application';

/** How Argo CD reads a folder of plain manifests (`spec.source.directory`). */
export interface ArgoCdDirectory {
  /**
   * Read sub-folders too.
   * @default true
   */
  readonly recurse?: boolean;
  /**
   * Glob of the files to read, relative to `path` (`*` also matches `/`; `{a,b}` lists).
   * @default - every file
   */
  readonly include?: string;
  /**
   * Glob of the files to skip, relative to `path`.
   * @default - none
   */
  readonly exclude?: string;
}

/** `spec.syncPolicy.retry.backoff` */
export interface ArgoCdBackoff {
  /** First wait, e.g. `30s`. */
  readonly duration: string;
  /** Multiplier after each failed attempt. */
  readonly factor: number;
  /** Longest wait, e.g. `5m`. */
  readonly maxDuration: string;
}

/** `spec.syncPolicy.retry`: how a failed sync is retried. */
export interface ArgoCdRetry {
  /** Attempts after the first failure. */
  readonly limit: number;
  readonly backoff: ArgoCdBackoff;
}

/**
 * Retries sized for the reconciler: a sync that fails because the reconciler has not yet
 * acted (it runs every few minutes) succeeds once it has. 30s, 1m, 2m, 4m, then 5m
 * between attempts: ten attempts span about 37 minutes, several reconciler runs.
 */
export const DEFAULT_RETRY: ArgoCdRetry = Object.freeze({
  limit: 10,
  backoff: Object.freeze({ duration: '30s', factor: 2, maxDuration: '5m' }),
});

/** Where the Application deploys to. Give `server` or `name`, not both. */
export interface ArgoCdDestination {
  /**
   * API server URL of the target cluster.
   * @default 'https://kubernetes.default.svc' (the cluster Argo CD runs in), unless `name` is given
   */
  readonly server?: string;
  /**
   * Name of a cluster registered in Argo CD, instead of `server`.
   * @default - use `server`
   */
  readonly name?: string;
  /**
   * Namespace for objects that name none. Every namespaced object redis-gitops renders
   * names its namespace; `createNamespace` creates this one only.
   * @default - none
   */
  readonly namespace?: string;
}

export interface ArgoCdApplicationProps {
  /**
   * metadata.name of the Application.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Namespace of the Application: Argo CD's own namespace.
   * @default 'argocd'
   */
  readonly namespace?: string;
  /**
   * Argo CD project.
   * @default 'default'
   */
  readonly project?: string;
  /** Git repository that holds the manifests, e.g. `https://github.com/acme/platform.git`. */
  readonly repoURL: string;
  /**
   * Branch, tag or commit to deploy.
   * @default 'HEAD'
   */
  readonly targetRevision?: string;
  /**
   * Folder of the manifests in the repository.
   * @default 'dist'
   */
  readonly path?: string;
  /**
   * How the folder is read.
   * @default { recurse: true }
   */
  readonly directory?: ArgoCdDirectory;
  /**
   * Target cluster and default namespace.
   * @default { server: 'https://kubernetes.default.svc' }
   */
  readonly destination?: ArgoCdDestination;
  /**
   * Sync automatically when Git or the cluster changes.
   * @default true
   */
  readonly automated?: boolean;
  /**
   * With `automated`: delete objects that were removed from Git.
   * @default true
   */
  readonly prune?: boolean;
  /**
   * With `automated`: undo changes made in the cluster outside Git.
   * @default true
   */
  readonly selfHeal?: boolean;
  /**
   * Retry failed syncs; `false` to stop at the first failure.
   * @default DEFAULT_RETRY (10 attempts, 30s doubling up to 5m)
   */
  readonly retry?: ArgoCdRetry | false;
  /**
   * Add `CreateNamespace=true`: Argo CD creates `destination.namespace` if missing (only
   * that namespace).
   * @default false
   */
  readonly createNamespace?: boolean;
  /**
   * Further sync options, e.g. `ServerSideApply=true`. `RespectIgnoreDifferences=true`
   * and `PruneLast=true` are always set.
   * @default - none
   */
  readonly syncOptions?: readonly string[];
  /**
   * Fields Argo CD must neither diff nor overwrite.
   * @default RECONCILER_IGNORE_DIFFERENCES (the fields the reconciler owns at run time)
   */
  readonly ignoreDifferences?: readonly ArgoCdIgnoreDifference[];
  /**
   * The Application's own sync wave, for when a parent application syncs it (app-of-apps).
   * @default 0
   */
  readonly syncWave?: number;
  /**
   * Deleting the Application also deletes what it deployed
   * (`resources-finalizer.argocd.argoproj.io`). PersistentVolumeClaims stay either way.
   * @default false
   */
  readonly cascadeDelete?: boolean;
  /**
   * Labels of the Application.
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * An Argo CD Application (argoproj.io/v1alpha1) that deploys a folder of plain manifests,
 * with the settings redis-gitops needs by default: automated sync with prune and
 * selfHeal, retries sized for the reconciler, `RespectIgnoreDifferences=true` with the
 * fields the reconciler owns, and `PruneLast=true` (removals happen after every wave is
 * healthy).
 *
 * @example
 * new ArgoCdApplication(chart, 'redis', { repoURL: 'https://github.com/acme/platform.git' });
 */
export class ArgoCdApplication extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly project: string;
  public readonly repoURL: string;
  public readonly targetRevision: string;
  public readonly path: string;
  public readonly directory: ArgoCdDirectory;
  public readonly destination: ArgoCdDestination;
  /** Sync options in the order they are written. */
  public readonly syncOptions: readonly string[];
  public readonly ignoreDifferences: readonly ArgoCdIgnoreDifference[];
  public readonly retry: ArgoCdRetry | false;
  /** The Application object. */
  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: ArgoCdApplicationProps) {
    super(scope, id);
    this.name = props.name ?? id;
    this.namespace = props.namespace ?? DEFAULT_ARGOCD_NAMESPACE;
    this.project = props.project ?? 'default';
    this.repoURL = props.repoURL;
    this.targetRevision = props.targetRevision ?? 'HEAD';
    this.path = props.path ?? 'dist';
    this.directory = { recurse: true, ...props.directory };
    this.retry = props.retry ?? DEFAULT_RETRY;
    this.ignoreDifferences = props.ignoreDifferences ?? RECONCILER_IGNORE_DIFFERENCES;
    const automated = props.automated ?? true;

    if (!props.repoURL) throw new Error(`${this.node.path}: repoURL is required (the Git repository that holds dist/)`);
    if (props.destination?.server && props.destination?.name) {
      throw new Error(`${this.node.path}: give destination.server or destination.name, not both`);
    }
    this.destination = {
      ...(props.destination?.name ? { name: props.destination.name } : { server: props.destination?.server ?? IN_CLUSTER_SERVER }),
      ...(props.destination?.namespace ? { namespace: props.destination.namespace } : {}),
    };
    if (props.createNamespace && !this.destination.namespace) {
      throw new Error(`${this.node.path}: createNamespace needs destination.namespace (the namespace to create)`);
    }
    this.syncOptions = unique([
      ...(props.createNamespace ? ['CreateNamespace=true'] : []),
      ...(this.ignoreDifferences.length > 0 ? ['RespectIgnoreDifferences=true'] : []),
      'PruneLast=true',
      ...(props.syncOptions ?? []),
    ]);

    this.apiObject = new ApiObject(this, 'application', {
      apiVersion: APPLICATION_API_VERSION,
      kind: APPLICATION_KIND,
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(props.labels ? { labels: { ...props.labels } } : {}),
        annotations: { [SYNC_WAVE_ANNOTATION]: String(props.syncWave ?? 0) },
        ...(props.cascadeDelete ? { finalizers: [RESOURCES_FINALIZER] } : {}),
      },
      spec: {
        project: this.project,
        source: {
          repoURL: this.repoURL,
          targetRevision: this.targetRevision,
          path: this.path,
          directory: { ...this.directory },
        },
        destination: { ...this.destination },
        syncPolicy: {
          ...(automated ? { automated: { prune: props.prune ?? true, selfHeal: props.selfHeal ?? true } } : {}),
          syncOptions: [...this.syncOptions],
          ...(this.retry ? { retry: { limit: this.retry.limit, backoff: { ...this.retry.backoff } } } : {}),
        },
        ...(this.ignoreDifferences.length > 0
          ? { ignoreDifferences: this.ignoreDifferences.map((d) => structuredClone(d) as ArgoCdIgnoreDifference) }
          : {}),
      },
    } as any);
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
