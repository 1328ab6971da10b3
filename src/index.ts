/**
 * redis-gitops: declarative Redis on Kubernetes for GitOps.
 * The public API of the package; see README.md ("Library API").
 */
export * from './api/types';
export * from './api/quantity';
export { redisInstanceCrd, redisInstanceSchema, CRD_FILE } from './api/crd';
export {
  ValidationIssue, RedisValidationError, validateRedisInstance, duplicateIssues, formatPath, MAX_NAME_LENGTH,
  type ValidationResult, type ValidationSource, type FieldPath,
} from './api/validate';
export * from './redis-conf/render';
export * from './render/instance';
export * from './constructs/redis-instance';
export * from './constructs/crd';
export * from './synth';
export * from './argocd';
export * from './constructs/platform';
export {
  compareDist, formatComparison, readDistFiles, loadSynthOptions, renderedRedisConfs,
  type DistComparison, type FileDiff, type ObjectDiff, type FieldChange,
} from './check';
export * from './redis-conf/verify';
export { PACKAGE_VERSION } from './version';
export * from './reconcile/desired';
export * from './reconcile/plan';
export * from './reconcile/status';
export * from './reconcile/kube';
export * from './reconcile/lease';
export * from './reconcile/execute';
export * from './reconcile/run';
export * from './reconcile/permissions';
export * from './constructs/reconciler';
