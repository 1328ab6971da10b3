/**
 * Defaulting, modelled on pkg/apis/{core,apps,batch,storage,rbac}/v1/defaults.go, limited to the
 * fields a reconciler's "desired vs live" diff would trip over. Every function is idempotent and
 * runs on every write, as in the apiserver.
 */
import { isObject, type Obj } from './util';

function setDefault(obj: Obj, key: string, value: unknown): void {
  if (obj[key] === undefined || obj[key] === null) obj[key] = value;
}

function defaultImagePullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(probe: unknown): void {
  if (!isObject(probe)) return;
  setDefault(probe, 'timeoutSeconds', 1);
  setDefault(probe, 'periodSeconds', 10);
  setDefault(probe, 'successThreshold', 1);
  setDefault(probe, 'failureThreshold', 3);
  if (isObject(probe.httpGet)) {
    setDefault(probe.httpGet, 'path', '/');
    setDefault(probe.httpGet, 'scheme', 'HTTP');
  }
}

function defaultContainer(c: unknown): void {
  if (!isObject(c)) return;
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(c, 'imagePullPolicy', defaultImagePullPolicy(c.image));
  for (const p of c.ports ?? []) if (isObject(p)) setDefault(p, 'protocol', 'TCP');
  for (const e of c.env ?? []) {
    if (isObject(e) && isObject(e.valueFrom) && isObject(e.valueFrom.fieldRef)) {
      setDefault(e.valueFrom.fieldRef, 'apiVersion', 'v1');
    }
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

function defaultVolume(v: unknown): void {
  if (!isObject(v)) return;
  const sources = Object.keys(v).filter((k) => k !== 'name');
  if (sources.length === 0) v.emptyDir = {};
  for (const src of ['configMap', 'secret', 'projected', 'downwardAPI']) {
    if (isObject(v[src])) setDefault(v[src], 'defaultMode', 420);
  }
}

/** SetDefaults_PodSpec + containers + volumes. */
export function defaultPodSpec(spec: unknown, opts: { restartPolicy?: boolean } = {}): void {
  if (!isObject(spec)) return;
  if (opts.restartPolicy !== false) setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'securityContext', {});
  for (const list of ['containers', 'initContainers']) for (const c of spec[list] ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

function defaultPodTemplate(template: unknown, opts?: { restartPolicy?: boolean }): void {
  if (isObject(template)) defaultPodSpec(template.spec, opts);
}

function defaultPvcSpec(spec: unknown): void {
  if (isObject(spec)) setDefault(spec, 'volumeMode', 'Filesystem');
}

/** Applied on create and update for the kinds below; other kinds are stored as sent. */
export function applyDefaults(group: string, kind: string, obj: Obj): void {
  const spec = isObject(obj.spec) ? obj.spec : undefined;
  switch (`${group}/${kind}`) {
    case 'apps/StatefulSet': {
      if (!spec) return;
      setDefault(spec, 'replicas', 1);
      setDefault(spec, 'podManagementPolicy', 'OrderedReady');
      setDefault(spec, 'updateStrategy', { type: 'RollingUpdate' });
      if (isObject(spec.updateStrategy)) {
        setDefault(spec.updateStrategy, 'type', 'RollingUpdate');
        if (spec.updateStrategy.type === 'RollingUpdate') {
          setDefault(spec.updateStrategy, 'rollingUpdate', {});
          setDefault(spec.updateStrategy.rollingUpdate, 'partition', 0);
        }
      }
      setDefault(spec, 'revisionHistoryLimit', 10);
      setDefault(spec, 'persistentVolumeClaimRetentionPolicy', {});
      setDefault(spec.persistentVolumeClaimRetentionPolicy, 'whenDeleted', 'Retain');
      setDefault(spec.persistentVolumeClaimRetentionPolicy, 'whenScaled', 'Retain');
      defaultPodTemplate(spec.template);
      for (const vct of spec.volumeClaimTemplates ?? []) {
        if (!isObject(vct)) continue;
        setDefault(vct, 'apiVersion', 'v1');
        setDefault(vct, 'kind', 'PersistentVolumeClaim');
        defaultPvcSpec(vct.spec);
        setDefault(vct, 'status', {});
        setDefault(vct.status, 'phase', 'Pending');
      }
      return;
    }
    case '/Pod':
      defaultPodSpec(spec);
      if (spec) setDefault(spec, 'enableServiceLinks', true);
      return;
    case '/Service': {
      if (!spec) return;
      setDefault(spec, 'type', 'ClusterIP');
      setDefault(spec, 'sessionAffinity', 'None');
      for (const p of spec.ports ?? []) {
        if (!isObject(p)) continue;
        setDefault(p, 'protocol', 'TCP');
        setDefault(p, 'targetPort', p.port);
      }
      if (spec.type !== 'ExternalName') {
        if (spec.clusterIP && !spec.clusterIPs) spec.clusterIPs = [spec.clusterIP];
        setDefault(spec, 'ipFamilies', ['IPv4']);
        setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
        setDefault(spec, 'internalTrafficPolicy', 'Cluster');
      }
      return;
    }
    case '/PersistentVolumeClaim':
      defaultPvcSpec(spec);
      return;
    case '/Namespace':
      setDefault(obj, 'spec', {});
      setDefault(obj.spec, 'finalizers', ['kubernetes']);
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      return;
    case '/Secret':
      setDefault(obj, 'type', 'Opaque');
      if (isObject(obj.stringData)) {
        obj.data = { ...(obj.data ?? {}) };
        for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
      }
      delete obj.stringData;
      return;
    case 'storage.k8s.io/StorageClass':
      setDefault(obj, 'reclaimPolicy', 'Delete');
      setDefault(obj, 'volumeBindingMode', 'Immediate');
      return;
    case 'batch/CronJob': {
      if (!spec) return;
      setDefault(spec, 'concurrencyPolicy', 'Allow');
      setDefault(spec, 'suspend', false);
      setDefault(spec, 'successfulJobsHistoryLimit', 3);
      setDefault(spec, 'failedJobsHistoryLimit', 1);
      const jobSpec = isObject(spec.jobTemplate) ? spec.jobTemplate.spec : undefined;
      if (isObject(jobSpec)) {
        setDefault(jobSpec, 'backoffLimit', 6);
        setDefault(jobSpec, 'completionMode', 'NonIndexed');
        setDefault(jobSpec, 'suspend', false);
        defaultPodTemplate(jobSpec.template, { restartPolicy: false });
      }
      return;
    }
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding':
      for (const s of obj.subjects ?? []) {
        if (isObject(s) && (s.kind === 'User' || s.kind === 'Group')) setDefault(s, 'apiGroup', 'rbac.authorization.k8s.io');
      }
      return;
    default:
      return;
  }
}

/** The status a built-in object starts with (PrepareForCreate + status defaults). */
export function initialStatus(group: string, kind: string, obj: Obj): Obj | undefined {
  switch (`${group}/${kind}`) {
    case 'apps/StatefulSet':
      return { replicas: 0, availableReplicas: 0 };
    case '/PersistentVolumeClaim':
      return { phase: 'Pending' };
    case '/Pod':
      return { phase: 'Pending', qosClass: qosClass(obj.spec) };
    case '/Service':
      return { loadBalancer: {} };
    case '/Namespace':
      return { phase: 'Active' };
    case 'policy/PodDisruptionBudget':
      return { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
    case 'batch/CronJob':
      return {};
    default:
      return undefined;
  }
}

/** Pod QoS class (pkg/apis/core/helper/qos), for cpu and memory. */
export function qosClass(spec: unknown): string {
  const containers: Obj[] = isObject(spec) ? [...(spec.containers ?? []), ...(spec.initContainers ?? [])] : [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = (c.resources?.requests ?? {}) as Obj;
    const lim = (c.resources?.limits ?? {}) as Obj;
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
