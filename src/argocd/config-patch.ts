import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { DEFAULT_ARGOCD_NAMESPACE, SYNC_WAVE_ANNOTATION } from './annotations';
import { APPLICATION_HEALTH_KEY, REDIS_INSTANCE_HEALTH_KEY, applicationHealthLua, redisInstanceHealthLua } from './health';

/**
 * Argo CD must track its resources by annotation: its older default, the label
 * `app.kubernetes.io/instance`, would overwrite that label on our objects with the
 * Application's name, and it is part of every StatefulSet's selector and Service selector.
 * (Argo CD 3 defaults to annotation tracking; 2.x needs this key.)
 */
export const TRACKING_METHOD_KEY = 'application.resourceTrackingMethod';

/** Sync wave of Argo CD's own configuration: before everything it configures. */
export const ARGOCD_CONFIG_SYNC_WAVE = -3;

export interface ArgoCdConfigPatchProps {
  /**
   * Argo CD's namespace.
   * @default 'argocd'
   */
  readonly namespace?: string;
  /**
   * Also add the health check for `argoproj.io/Application`, which the app-of-apps
   * layout needs so a parent application waits for its children's health.
   * @default false
   */
  readonly applicationHealth?: boolean;
}

/**
 * A partial `argocd-cm` ConfigMap that adds our health checks to Argo CD: only the keys
 * below and the labels Argo CD's own manifests put on `argocd-cm`. It is meant to be
 * merged into the existing ConfigMap, never to replace it:
 * `kubectl apply --server-side --field-manager=redis-gitops-bootstrap -f <file>` (server-side
 * apply only touches the fields listed here), `kubectl patch configmap argocd-cm -n argocd
 * --type merge --patch-file <file>`, a Kustomize patch, or the `configs.cm` values of the
 * Argo CD Helm chart. See docs/argocd.md.
 */
export class ArgoCdConfigPatch extends Construct {
  /** The argocd-cm keys this patch sets, with their values. */
  public readonly data: Readonly<Record<string, string>>;
  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: ArgoCdConfigPatchProps = {}) {
    super(scope, id);
    this.data = {
      [TRACKING_METHOD_KEY]: 'annotation',
      [REDIS_INSTANCE_HEALTH_KEY]: redisInstanceHealthLua(),
      ...(props.applicationHealth ? { [APPLICATION_HEALTH_KEY]: applicationHealthLua() } : {}),
    };
    this.apiObject = new ApiObject(this, 'argocd-cm', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'argocd-cm',
        namespace: props.namespace ?? DEFAULT_ARGOCD_NAMESPACE,
        labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' },
        annotations: { [SYNC_WAVE_ANNOTATION]: String(ARGOCD_CONFIG_SYNC_WAVE) },
      },
      data: { ...this.data },
    });
  }
}
