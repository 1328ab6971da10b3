/**
 * Names Argo CD reads from the objects it syncs, and where Argo CD itself lives.
 * https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/ and
 * https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/
 */

/** Objects sync in ascending waves; Argo CD waits for a wave to be healthy before the next. */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';
/** Per-object sync options, comma-separated (`SkipDryRunOnMissingResource=true`). */
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';
/**
 * On a custom resource: when the apiserver does not know its kind yet, skip the dry run
 * that precedes every sync instead of failing it (the CRD is on its way).
 */
export const SKIP_DRY_RUN_ON_MISSING_RESOURCE = 'SkipDryRunOnMissingResource=true';
/** Never delete this object when it leaves Git. */
export const NO_PRUNE = 'Prune=false';

/** Argo CD's namespace in a standard installation. */
export const DEFAULT_ARGOCD_NAMESPACE = 'argocd';
/** The in-cluster destination: the cluster Argo CD runs in. */
export const IN_CLUSTER_SERVER = 'https://kubernetes.default.svc';
/** On an Application: deleting it deletes the objects it deployed (cascade). */
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
