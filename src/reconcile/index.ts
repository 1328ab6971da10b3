/**
 * The reconciler: the pure core (desired, plan, status) and its I/O layer over
 * @kubernetes/client-node (kube, lease, snapshot, execute, status-writer, run). Import it as
 * `redis-gitops/lib/src/reconcile`; the package's main entry leaves the I/O layer out.
 */
export * from './desired';
export * from './plan';
export * from './status';
export * from './permissions';
export * from './kube';
export * from './lease';
export * from './snapshot';
export * from './assess';
export * from './execute';
export * from './status-writer';
export * from './report';
export * from './run';
