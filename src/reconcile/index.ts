/**
 * The reconciler: the pure core (desired, plan, status) and its I/O layer over
 * @kubernetes/client-node (kube, lease, execute, run). Import it as
 * `redis-gitops/lib/src/reconcile`; the package's main entry leaves the I/O layer out.
 */
export * from './desired';
export * from './plan';
export * from './status';
export * from './permissions';
export * from './kube';
export * from './lease';
export * from './execute';
export * from './run';
