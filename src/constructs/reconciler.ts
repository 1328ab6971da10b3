import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { parseQuantity } from '../api/quantity';
import type { ResourceRequirements } from '../api/types';
import { DEFAULT_LEASE_NAME, reconcilerPermissions, type ApiPermission } from '../reconcile/permissions';
import { IMAGE_REPOSITORY, PACKAGE_VERSION } from '../version';

/** Where the image is published; the tag defaults to this package's version. */
export const RECONCILER_IMAGE_REPOSITORY = IMAGE_REPOSITORY;

/**
 * Defaults sized from `npm run bench` (compiled bin, test API server, V8 flags as below):
 * an in-sync pass peaks at about 125 MiB RSS with 1,000 instances and 140 MiB with 10,000
 * (memory follows the largest namespace, not the fleet: the pass holds one namespace at a
 * time); a pass acting on 10% of them at about 145 and 205 MiB. The request covers 10,000 instances;
 * V8's heap is capped below the limit (NODE_OPTIONS) so Node collects garbage before the
 * kernel kills it. docs/reconciler.md says how to size for more.
 */
export const DEFAULT_RECONCILER_RESOURCES: ResourceRequirements = Object.freeze({
  requests: Object.freeze({ cpu: '100m', memory: '256Mi' }),
  limits: Object.freeze({ cpu: '1', memory: '384Mi' }),
});

/**
 * V8 flags for the reconciler's container: the old generation capped at three quarters of
 * the memory limit, and a 2 MiB young generation (Node's default of 16 MiB per semi-space
 * only delays collecting the garbage of each LIST page; the bench measures 20% less peak
 * RSS for the same CPU). Undefined without a limit.
 */
export function reconcilerNodeOptions(r: ResourceRequirements): string | undefined {
  const heapMiB = heapLimitMiB(r);
  return heapMiB ? `--max-old-space-size=${heapMiB} --max-semi-space-size=2` : undefined;
}

/**
 * Environment of the reconciler's process besides NODE_OPTIONS: glibc's malloc keeps one
 * arena per thread that allocates (Node's threads included) and seldom returns their
 * memory; two arenas lower the bench's peak RSS by about 10 MiB for the same CPU. The
 * image is Debian (glibc); musl ignores the variable.
 */
export const RECONCILER_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2' });

/** UID/GID of the `node` user in the official Node.js images (the Dockerfile runs as it). */
export const RECONCILER_UID = 1000;

export interface RedisReconcilerProps {
  /**
   * Namespace of the CronJob, its ServiceAccount and the Lease. It must exist.
   * @default 'redis-gitops'
   */
  readonly namespace?: string;
  /**
   * Name of the CronJob, ServiceAccount, ClusterRole and bindings.
   * @default 'redis-gitops-reconciler'
   */
  readonly name?: string;
  /**
   * Container image with this package's bin.
   * @default `ghcr.io/redis-gitops/redis-gitops:<package version>`
   */
  readonly image?: string;
  /**
   * Cron schedule of the passes.
   * @default '*\/5 * * * *' (every 5 minutes)
   */
  readonly schedule?: string;
  /**
   * Namespaces whose Secrets the reconciler may list (a Role and RoleBinding in each, only
   * there): those with instances that use `spec.auth`, so a password change rolls the pods.
   * Elsewhere the reconciler still works but cannot see a rotation (it says so in status).
   * @default - none
   */
  readonly secretNamespaces?: readonly string[];
  /**
   * Resources of the reconciler container.
   * @default DEFAULT_RECONCILER_RESOURCES (requests 100m CPU / 256Mi, limits 1 CPU / 384Mi)
   */
  readonly resources?: ResourceRequirements;
  /**
   * Name of the coordination.k8s.io Lease that keeps two runs from acting at once.
   * @default 'redis-gitops-reconciler'
   */
  readonly leaseName?: string;
  /**
   * A run is stopped after this long (it must end well before the next schedule). The
   * reconciler sends no request in the last 40 s of it (`--pass-timeout`).
   * @default 240
   */
  readonly activeDeadlineSeconds?: number;
}

/**
 * The reconciler, in-cluster: a CronJob that runs `redis-gitops reconcile -A -o json`
 * under its own ServiceAccount, with exactly the RBAC the reconciler's API calls need
 * (RECONCILER_PERMISSIONS; no wildcards), Secret reads only in `secretNamespaces`, and a
 * Pod Security "restricted" pod.
 *
 * @example
 * new RedisReconciler(chart, 'reconciler', { secretNamespaces: ['shop'] });
 */
export class RedisReconciler extends Construct {
  public readonly namespace: string;
  public readonly name: string;
  public readonly image: string;
  public readonly schedule: string;
  public readonly secretNamespaces: readonly string[];
  public readonly resources: ResourceRequirements;
  public readonly leaseName: string;
  public readonly activeDeadlineSeconds: number;

  public readonly serviceAccount: k8s.KubeServiceAccount;
  public readonly clusterRole: k8s.KubeClusterRole;
  public readonly clusterRoleBinding: k8s.KubeClusterRoleBinding;
  /** Take, renew and release the Lease, in `namespace` only. */
  public readonly leaseRole: k8s.KubeRole;
  public readonly leaseRoleBinding: k8s.KubeRoleBinding;
  /** One Role and RoleBinding per entry of `secretNamespaces`. */
  public readonly secretRoles: ReadonlyArray<{ readonly namespace: string; readonly role: k8s.KubeRole; readonly binding: k8s.KubeRoleBinding }>;
  public readonly cronJob: k8s.KubeCronJob;

  constructor(scope: Construct, id: string, props: RedisReconcilerProps = {}) {
    super(scope, id);
    this.namespace = props.namespace ?? 'redis-gitops';
    this.name = props.name ?? 'redis-gitops-reconciler';
    this.image = props.image ?? `${RECONCILER_IMAGE_REPOSITORY}:${PACKAGE_VERSION}`;
    this.schedule = props.schedule ?? '*/5 * * * *';
    this.secretNamespaces = [...new Set(props.secretNamespaces ?? [])].sort();
    this.resources = props.resources ?? DEFAULT_RECONCILER_RESOURCES;
    this.leaseName = props.leaseName ?? DEFAULT_LEASE_NAME;
    this.activeDeadlineSeconds = props.activeDeadlineSeconds ?? 240;
    if (this.activeDeadlineSeconds <= 0) throw new Error(`${this.node.path}: activeDeadlineSeconds must be positive, got ${this.activeDeadlineSeconds}`);

    const labels = { 'app.kubernetes.io/name': 'redis-gitops', 'app.kubernetes.io/component': 'reconciler', 'app.kubernetes.io/part-of': 'redis-gitops' };
    const permissions = reconcilerPermissions(this.leaseName);
    const rules = (scope: ApiPermission['scope']) => permissions.filter((p) => p.scope === scope).map(toRule);
    const subject = { kind: 'ServiceAccount', name: this.name, namespace: this.namespace };

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: this.name, namespace: this.namespace, labels },
      automountServiceAccountToken: true,
    });
    this.clusterRole = new k8s.KubeClusterRole(this, 'cluster-role', {
      metadata: { name: this.name, labels },
      rules: rules('cluster'),
    });
    this.clusterRoleBinding = new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', {
      metadata: { name: this.name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.name },
      subjects: [subject],
    });
    this.leaseRole = new k8s.KubeRole(this, 'lease-role', {
      metadata: { name: `${this.name}-lease`, namespace: this.namespace, labels },
      rules: rules('lease'),
    });
    this.leaseRoleBinding = new k8s.KubeRoleBinding(this, 'lease-role-binding', {
      metadata: { name: `${this.name}-lease`, namespace: this.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${this.name}-lease` },
      subjects: [subject],
    });
    this.secretRoles = this.secretNamespaces.map((namespace) => ({
      namespace,
      role: new k8s.KubeRole(this, `secrets-role-${namespace}`, {
        metadata: { name: `${this.name}-secrets`, namespace, labels },
        rules: rules('secrets'),
      }),
      binding: new k8s.KubeRoleBinding(this, `secrets-role-binding-${namespace}`, {
        metadata: { name: `${this.name}-secrets`, namespace, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${this.name}-secrets` },
        subjects: [subject],
      }),
    }));

    const nodeOptions = reconcilerNodeOptions(this.resources);
    // The pass stops sending requests 40 s before Kubernetes would kill the run (the CLI's default is 240 - 40).
    const passTimeout = Math.max(1, Math.min(3_600, this.activeDeadlineSeconds - 40));
    const args = [
      'reconcile', '-A', '-o', 'json',
      ...(this.leaseName !== DEFAULT_LEASE_NAME ? ['--lease-name', this.leaseName] : []),
      ...(passTimeout !== 200 ? ['--pass-timeout', String(passTimeout)] : []),
    ];
    this.cronJob = new k8s.KubeCronJob(this, 'cron-job', {
      metadata: { name: this.name, namespace: this.namespace, labels },
      spec: {
        schedule: this.schedule,
        // A run still going when the next is due: skip the next, never run two.
        concurrencyPolicy: 'Forbid',
        // A run missed by more than this (controller down, Forbid) waits for the next slot.
        startingDeadlineSeconds: 120,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            // The next scheduled run is the retry; a failed pass leaves its status and Events.
            backoffLimit: 1,
            activeDeadlineSeconds: this.activeDeadlineSeconds,
            template: {
              metadata: { labels },
              spec: {
                serviceAccountName: this.name,
                automountServiceAccountToken: true,
                restartPolicy: 'Never',
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: RECONCILER_UID,
                  runAsGroup: RECONCILER_UID,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                containers: [{
                  name: 'reconciler',
                  image: this.image,
                  imagePullPolicy: 'IfNotPresent',
                  args,
                  env: [
                    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    ...(nodeOptions ? [{ name: 'NODE_OPTIONS', value: nodeOptions }] : []),
                    ...Object.entries(RECONCILER_PROCESS_ENV).map(([name, value]) => ({ name, value })),
                  ],
                  resources: toResources(this.resources),
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ['ALL'] },
                    privileged: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    runAsUser: RECONCILER_UID,
                    runAsGroup: RECONCILER_UID,
                    seccompProfile: { type: 'RuntimeDefault' },
                  },
                }],
              },
            },
          },
        },
      },
    });
  }
}

function toRule(p: ApiPermission): k8s.PolicyRule {
  return {
    apiGroups: [p.group],
    resources: [p.resource],
    verbs: [...p.verbs],
    ...(p.resourceNames ? { resourceNames: [...p.resourceNames] } : {}),
  };
}

function toResources(r: ResourceRequirements): k8s.ResourceRequirements {
  const map = (values?: Readonly<Record<string, string | number>>) => values && Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, typeof v === 'number' ? k8s.Quantity.fromNumber(v) : k8s.Quantity.fromString(v)]),
  );
  return { ...(r.requests ? { requests: map(r.requests) } : {}), ...(r.limits ? { limits: map(r.limits) } : {}) };
}

/** Three quarters of the memory limit, for V8's old generation; undefined without a limit. */
function heapLimitMiB(r: ResourceRequirements): number | undefined {
  const limit = r.limits?.memory;
  const nanos = limit === undefined ? undefined : parseQuantity(limit);
  if (nanos === undefined) return undefined;
  const mib = Number(nanos / 1_000_000_000n) / 2 ** 20;
  return mib >= 64 ? Math.floor(mib * 0.75) : undefined;
}
