/**
 * redis-gitops: declarative Redis on Kubernetes for GitOps.
 * The public API of the package; see README.md ("Library API").
 * The reconciler's I/O layer (Kubernetes client, Lease, execute, one pass) is in
 * `redis-gitops/lib/src/reconcile` instead, so that a cdk8s app importing this module
 * does not load the Kubernetes client.
 */
export * from './api/types';
export * from './api/quantity';
export { redisInstanceCrd, redisInstanceSchema, CRD_FILE } from './api/crd';
export {
  ValidationIssue, RedisValidationError, validateRedisInstance, duplicateIssues, formatPath, MAX_NAME_LENGTH,
  type ValidationResult, type ValidationSource, type FieldPath,
} from './api/validate';
export * from './redis-conf/render';
export * from './redis-conf/args';
export {
  configIssues, AUTH_ONLY_CONFIG_KEYS, CLUSTER_CONFIG_PREFIX, MODULE_CONFIG_KEY, READ_CONFIG_KEYS,
  type ConfigPolicy, type ConfigIssue,
} from './redis-conf/config-rules';
export * from './render/instance';
export * from './render/network-policy';
export * from './render/metrics';
export * from './render/tls';
export * from './redis-conf/memory';
export { SENTINEL_PORT } from './render/sentinel';
export { ROLE_AGENT_IMAGE, roleAgentName, podNames } from './render/role-agent';
export * from './render/config-agent';
export * from './redis-conf/live-keys';
export * from './redis-conf/live-config';
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
export * from './reconcile/live-config';
export * from './reconcile/permissions';
export * from './constructs/reconciler';
