import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import * as crd from '../../imports/redis.github.com';
import type { RedisInstanceSpec, ResolvedRedisInstance, ResolvedRedisInstanceSpec } from '../api/types';
import { API_VERSION, KIND } from '../api/types';
import { RedisValidationError, validateRedisInstance, type ValidationSource } from '../api/validate';
import { podConfigHash } from '../render/config-agent';
import { instanceRedisConf, instanceRedisConfig, renderInstance } from '../render/instance';

/** Props of a RedisInstance: its identity, then the spec fields (see RedisInstanceSpec). */
export interface RedisInstanceProps extends RedisInstanceSpec {
  /**
   * metadata.name of the RedisInstance and of its StatefulSet, ConfigMap and Services.
   * A DNS-1035 label of at most 52 characters.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Namespace of the instance and its children.
   * @default - the chart's namespace, else 'default'
   */
  readonly namespace?: string;
  /**
   * Labels of the RedisInstance, also put on its children (our own labels win).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Annotations of the RedisInstance object.
   * @default - none
   */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * Module paths `config.loadmodule` may name. Modules run native code in redis-server,
   * so they are allowed only here, in TypeScript, never from instance YAML.
   * @default - none: loadmodule is refused
   */
  readonly allowedModules?: readonly string[];
}

/**
 * Props made by fromResolved from an instance validateRedisInstance already accepted, and
 * that instance: the YAML path validates once, with file and line, not again here.
 */
const ALREADY_RESOLVED = new WeakMap<RedisInstanceProps, ResolvedRedisInstance>();

/**
 * A Redis on Kubernetes: the RedisInstance object itself (read by the reconciler), a
 * ConfigMap with redis.conf, a headless Service and a StatefulSet; with replicas > 1 also
 * a `<name>-primary` Service for writes and a PodDisruptionBudget; with failover sentinel
 * (the default from 3 replicas) also the role agents' ServiceAccount, Role and RoleBinding.
 *
 * @example
 * new RedisInstance(chart, 'cache', { image: 'redis:7.2.4-alpine', storage: { size: '2Gi' } });
 */
export class RedisInstance extends Construct {
  /** Tells RedisInstance constructs apart from other constructs in a tree. */
  public static isRedisInstance(x: unknown): x is RedisInstance {
    return x instanceof RedisInstance;
  }

  /**
   * A RedisInstance from a manifest (a parsed YAML document). Throws a
   * RedisValidationError that lists every problem, with file and line when given.
   */
  public static fromManifest(scope: Construct, id: string, manifest: unknown, source: ValidationSource = {}): RedisInstance {
    const result = validateRedisInstance(manifest, { defaultNamespace: Chart.of(scope).namespace, ...source });
    if (!result.ok) throw new RedisValidationError(result.issues);
    return RedisInstance.fromResolved(scope, id, result.instance);
  }

  /** A RedisInstance from an instance that validateRedisInstance already accepted (not validated again). */
  public static fromResolved(scope: Construct, id: string, instance: ResolvedRedisInstance): RedisInstance {
    const { name, namespace, labels, annotations, spec } = instance;
    const { failover, ...rest } = spec;
    const props: RedisInstanceProps = {
      name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}), ...rest,
      failover: failover ? 'sentinel' : 'none',
      ...(failover ? { sentinel: { downAfterMilliseconds: failover.downAfterMilliseconds, failoverTimeoutMilliseconds: failover.failoverTimeoutMilliseconds } } : {}),
    };
    ALREADY_RESOLVED.set(props, instance);
    return new RedisInstance(scope, id, props);
  }

  public readonly name: string;
  public readonly namespace: string;
  /** The spec with every default resolved. */
  public readonly spec: ResolvedRedisInstanceSpec;
  /** The exact bytes of redis.conf in the ConfigMap. */
  public readonly redisConf: string;
  /**
   * The pod-template annotation `redis.github.com/config-hash`: SHA-256 of what only a
   * restart applies (restart-only keys, which live keys are set, the agent's script), not
   * of the live values (docs/live-changes.md).
   */
  public readonly configHash: string;

  public readonly instance: ApiObject;
  public readonly configMap: ApiObject;
  /** The headless Service that governs the StatefulSet. */
  public readonly service: ApiObject;
  /** The Service for writes, selecting pod 0 (replicas > 1 only). */
  public readonly primaryService?: ApiObject;
  /** The pod agents' ServiceAccount, Role (get/patch of the instance's own pods) and RoleBinding (spec.podAgent: on with failover). */
  public readonly serviceAccount?: ApiObject;
  public readonly role?: ApiObject;
  public readonly roleBinding?: ApiObject;
  public readonly statefulSet: ApiObject;
  /** Keeps at most one pod down (replicas > 1 only). */
  public readonly podDisruptionBudget?: ApiObject;
  /** Who may connect (spec.networkPolicy.enabled, the default). */
  public readonly networkPolicy?: ApiObject;
  /** cert-manager's Certificate for the TLS Secret (spec.tls.issuerRef). */
  public readonly certificate?: ApiObject;
  /** The Prometheus Operator's PodMonitor for the exporter sidecar (spec.metrics). */
  public readonly podMonitor?: ApiObject;
  /** The alerts (spec.metrics, alerts enabled). */
  public readonly prometheusRule?: ApiObject;

  constructor(scope: Construct, id: string, props: RedisInstanceProps) {
    super(scope, id);
    const resolved = ALREADY_RESOLVED.get(props) ?? this.validate(id, props);

    this.name = resolved.name;
    this.namespace = resolved.namespace;
    this.spec = resolved.spec;
    this.redisConf = instanceRedisConf(resolved);
    this.configHash = podConfigHash(instanceRedisConfig(resolved.spec));

    const rendered = renderInstance(resolved);
    // The RedisInstance goes through the L1 class that `cdk8s import` generated from the CRD.
    this.instance = new crd.RedisInstance(this, 'instance', {
      metadata: {
        name: resolved.name,
        namespace: resolved.namespace,
        ...(resolved.labels ? { labels: { ...resolved.labels } } : {}),
        ...(resolved.annotations ? { annotations: { ...resolved.annotations } } : {}),
      },
      spec: toImportedSpec(resolved.spec),
    });
    this.configMap = new ApiObject(this, 'config-map', rendered.configMap as any);
    this.service = new ApiObject(this, 'service', rendered.service as any);
    if (rendered.primaryService) this.primaryService = new ApiObject(this, 'primary-service', rendered.primaryService as any);
    if (rendered.serviceAccount) this.serviceAccount = new ApiObject(this, 'service-account', rendered.serviceAccount as any);
    if (rendered.role) this.role = new ApiObject(this, 'role', rendered.role as any);
    if (rendered.roleBinding) this.roleBinding = new ApiObject(this, 'role-binding', rendered.roleBinding as any);
    this.statefulSet = new ApiObject(this, 'stateful-set', rendered.statefulSet as any);
    if (rendered.podDisruptionBudget) this.podDisruptionBudget = new ApiObject(this, 'pdb', rendered.podDisruptionBudget as any);
    if (rendered.certificate) this.certificate = new ApiObject(this, 'certificate', rendered.certificate as any);
    if (rendered.networkPolicy) this.networkPolicy = new ApiObject(this, 'network-policy', rendered.networkPolicy as any);
    if (rendered.podMonitor) this.podMonitor = new ApiObject(this, 'pod-monitor', rendered.podMonitor as any);
    if (rendered.prometheusRule) this.prometheusRule = new ApiObject(this, 'prometheus-rule', rendered.prometheusRule as any);
  }

  private validate(id: string, props: RedisInstanceProps): ResolvedRedisInstance {
    const { name = id, namespace = Chart.of(this).namespace ?? 'default', labels, annotations, allowedModules, ...spec } = props;
    const result = validateRedisInstance({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
      spec,
    }, { allowedModules });
    if (!result.ok) throw new RedisValidationError(result.issues, this.node.path);
    return result.instance;
  }

  /** The instance's API objects, in apply order. */
  public get apiObjects(): ApiObject[] {
    return [
      this.instance, this.configMap, this.service, this.primaryService,
      this.serviceAccount, this.role, this.roleBinding, this.statefulSet, this.podDisruptionBudget,
      this.certificate, this.networkPolicy, this.podMonitor, this.prometheusRule,
    ]
      .filter((o): o is ApiObject => o !== undefined);
  }
}

function toImportedSpec(spec: ResolvedRedisInstanceSpec): crd.RedisInstanceSpec {
  const quantities = <T>(values: Readonly<Record<string, string | number>> | undefined, make: (v: string | number) => T) =>
    values && Object.fromEntries(Object.entries(values).map(([k, v]) => [k, make(v)]));
  const limits = quantities(spec.resources?.limits, (v) => typeof v === 'number'
    ? crd.RedisInstanceSpecResourcesLimits.fromNumber(v) : crd.RedisInstanceSpecResourcesLimits.fromString(v));
  const requests = quantities(spec.resources?.requests, (v) => typeof v === 'number'
    ? crd.RedisInstanceSpecResourcesRequests.fromNumber(v) : crd.RedisInstanceSpecResourcesRequests.fromString(v));
  return {
    image: spec.image,
    replicas: spec.replicas,
    ...(spec.resources ? { resources: { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) } } : {}),
    storage: { ...spec.storage },
    ...(Object.keys(spec.config).length > 0 ? { config: { ...spec.config } } : {}),
    ...(spec.auth ? { auth: { ...spec.auth } } : {}),
    networkPolicy: structuredClone(spec.networkPolicy) as crd.RedisInstanceSpecNetworkPolicy,
    ...(spec.metrics ? { metrics: importedMetrics(spec.metrics) } : {}),
    ...(spec.tls ? { tls: structuredClone(spec.tls) as crd.RedisInstanceSpecTls } : {}),
    failover: spec.failover ? crd.RedisInstanceSpecFailover.SENTINEL : crd.RedisInstanceSpecFailover.NONE,
    ...(spec.failover ? {
      sentinel: {
        downAfterMilliseconds: spec.failover.downAfterMilliseconds,
        failoverTimeoutMilliseconds: spec.failover.failoverTimeoutMilliseconds,
      },
    } : {}),
    // Written only where it is not the default (on with failover, off without).
    ...(spec.podAgent && !spec.failover ? { podAgent: true } : {}),
    ...(spec.affinity !== undefined ? { affinity: structuredClone(spec.affinity) as crd.RedisInstanceSpecAffinity } : {}),
    ...(spec.topologySpreadConstraints !== undefined
      ? { topologySpreadConstraints: structuredClone(spec.topologySpreadConstraints) as unknown as crd.RedisInstanceSpecTopologySpreadConstraints[] }
      : {}),
  };
}

function importedMetrics(metrics: NonNullable<ResolvedRedisInstanceSpec['metrics']>): crd.RedisInstanceSpecMetrics {
  const quantities = (values: Readonly<Record<string, string | number>> | undefined) => values && Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, typeof v === 'number'
      ? crd.RedisInstanceSpecMetricsResourcesLimits.fromNumber(v) : crd.RedisInstanceSpecMetricsResourcesLimits.fromString(v)]));
  const { limits, requests } = metrics.resources;
  return {
    ...structuredClone(metrics),
    resources: { ...(limits ? { limits: quantities(limits) } : {}), ...(requests ? { requests: quantities(requests) as any } : {}) },
  } as crd.RedisInstanceSpecMetrics;
}
