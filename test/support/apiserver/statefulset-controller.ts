/**
 * A stepped simulation of the StatefulSet controller (pkg/controller/statefulset) plus the
 * parts of the PV controller, scheduler and kubelet a StatefulSet needs: claims bind at once,
 * pods run at once, and become Ready only when the test says so (or at once with autoReadyPods).
 */
import { createHash, randomBytes } from 'node:crypto';
import { ApiError } from './errors';
import { compareQuantities } from './quantity';
import type { ResourceType } from './resources';
import { matchesLabelSelector } from './selectors';
import type { Store } from './store';
import { deepCopy, deepEqual, getPath, isObject, nowTimestamp, stableStringify, type Obj } from './util';

const REVISION_LABEL = 'controller-revision-hash';
const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** k8s.io/apimachinery/pkg/util/rand.SafeEncodeString of a 32-bit hash, as controller revisions are named. */
/** By template object: a stored object is replaced, never changed, on a write, so its hash holds. */
const templateHashes = new WeakMap<object, string>();

function templateHash(template: unknown): string {
  const cached = template && typeof template === 'object' ? templateHashes.get(template) : undefined;
  if (cached) return cached;
  const hash = computeTemplateHash(template);
  if (template && typeof template === 'object') templateHashes.set(template, hash);
  return hash;
}

function computeTemplateHash(template: unknown): string {
  const n = createHash('sha256').update(stableStringify(template)).digest().readUInt32BE(0);
  return [...String(n)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

function ordinalOf(podName: string, setName: string): number | undefined {
  const m = /^(.*)-(\d+)$/.exec(podName);
  return m && m[1] === setName ? Number(m[2]) : undefined;
}

function controllerRefOf(obj: Obj): Obj | undefined {
  return (obj.metadata.ownerReferences ?? []).find((r: Obj) => r.controller === true);
}

function isRunningAndReady(pod: Obj): boolean {
  return (
    !pod.metadata.deletionTimestamp &&
    pod.status?.phase === 'Running' &&
    (pod.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True')
  );
}

function setOwnerRef(sts: Obj): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    name: sts.metadata.name,
    uid: sts.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export class StatefulSetController {
  private readonly stsType: ResourceType;
  private readonly podType: ResourceType;
  private readonly pvcType: ResourceType;
  /** revision name -> pod template, standing in for ControllerRevision objects. */
  private readonly revisions = new Map<string, Obj>();
  private nextPodIP = 10;

  constructor(
    private readonly store: Store,
    private readonly opts: { autoReadyPods: boolean },
  ) {
    this.stsType = store.resource('apps/v1', 'StatefulSet');
    this.podType = store.resource('v1', 'Pod');
    this.pvcType = store.resource('v1', 'PersistentVolumeClaim');
  }

  /** One pass over every StatefulSet, then the volume resizer. */
  step(): void {
    for (const sts of this.store.peek(this.stsType)) this.ignoringApiErrors(() => this.sync(sts));
    this.resizeClaims();
  }

  setPodReady(namespace: string, name: string, ready: boolean): void {
    const pod = this.store.get(this.podType, namespace, name);
    this.store.update(this.podType, namespace, name, { ...pod, status: this.runningStatus(pod, ready) }, { subresource: 'status' });
  }

  private ignoringApiErrors(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e; // the real controller records an event and retries
    }
  }

  private sync(sts: Obj): void {
    if (sts.metadata.deletionTimestamp) return;
    const ns: string = sts.metadata.namespace;
    const name: string = sts.metadata.name;
    const spec = sts.spec ?? {};
    const replicas: number = spec.replicas ?? 1;
    const start: number = spec.ordinals?.start ?? 0; // ordinals run from start to start+replicas-1
    const updateRevision = `${name}-${templateHash(spec.template)}`;
    if (!this.revisions.has(updateRevision)) this.revisions.set(updateRevision, deepCopy(spec.template));
    const currentRevision: string = sts.status?.currentRevision || updateRevision;
    const monotonic = spec.podManagementPolicy !== 'Parallel';
    const rolling = spec.updateStrategy?.type === 'RollingUpdate';
    const partition: number = spec.updateStrategy?.rollingUpdate?.partition ?? 0; // an index from start, as in the controller

    this.adoptOrphans(sts);
    const pods = this.ownedPods(sts);
    let acted = false;

    // Create missing replicas in ordinal order (OrderedReady: one at a time, each after the previous is Ready).
    for (let i = start; i < start + replicas && !(acted && monotonic); i++) {
      const pod = pods.get(i);
      if (!pod) {
        // Below the partition, a recreated pod comes back at the current revision.
        const useCurrent = rolling && i - start < partition && this.revisions.has(currentRevision);
        const revision = useCurrent ? currentRevision : updateRevision;
        this.createClaims(sts, i);
        this.createPod(sts, i, revision, this.revisions.get(revision) ?? spec.template);
        acted = true;
      } else if (monotonic && !isRunningAndReady(pod)) {
        acted = true; // wait for it
      }
    }

    // Scale down from the highest ordinal (OrderedReady: one at a time, only when all others are Ready).
    const condemned = [...pods.entries()].filter(([i]) => i < start || i >= start + replicas).sort(([a], [b]) => b - a);
    if (!acted && condemned.length > 0) {
      const targets = monotonic ? condemned.slice(0, 1) : condemned;
      const unhealthy = [...pods.values()].some((p) => p !== targets[0][1] && !isRunningAndReady(p));
      if (!(monotonic && unhealthy)) {
        for (const [ordinal, pod] of targets) {
          if (pod.metadata.deletionTimestamp) continue;
          this.store.delete(this.podType, ns, pod.metadata.name);
          if (spec.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') this.deleteClaims(sts, ordinal);
        }
      }
      acted = true;
    }

    // Rolling update: replace the highest ordinal not at updateRevision, once everything is Ready.
    const allReady = pods.size === replicas && [...pods.values()].every(isRunningAndReady);
    if (!acted && rolling && allReady) {
      for (let i = start + replicas - 1; i >= start + partition; i--) {
        const pod = pods.get(i);
        if (pod && pod.metadata.labels?.[REVISION_LABEL] !== updateRevision) {
          this.store.delete(this.podType, ns, pod.metadata.name);
          break;
        }
      }
    }

    this.updateStatus(sts, currentRevision, updateRevision);
  }

  /** Claims pods named `<set>-<ordinal>` that match the selector and have no controller. */
  private adoptOrphans(sts: Obj): void {
    for (const stored of this.store.peek(this.podType, sts.metadata.namespace)) {
      if (stored.metadata.deletionTimestamp || controllerRefOf(stored)) continue;
      if (ordinalOf(stored.metadata.name, sts.metadata.name) === undefined) continue;
      if (!matchesLabelSelector(sts.spec?.selector, stored.metadata.labels)) continue;
      const pod = deepCopy(stored);
      pod.metadata.ownerReferences = [...(pod.metadata.ownerReferences ?? []), setOwnerRef(sts)];
      this.store.update(this.podType, pod.metadata.namespace, pod.metadata.name, pod);
    }
  }

  /** The set's pods by ordinal (stored objects: read, never modified). */
  private ownedPods(sts: Obj): Map<number, Obj> {
    const out = new Map<number, Obj>();
    for (const pod of this.store.peek(this.podType, sts.metadata.namespace)) {
      if (controllerRefOf(pod)?.uid !== sts.metadata.uid) continue;
      const ordinal = ordinalOf(pod.metadata.name, sts.metadata.name);
      if (ordinal !== undefined) out.set(ordinal, pod);
    }
    return out;
  }

  private claimName(sts: Obj, template: Obj, ordinal: number): string {
    return `${template.metadata?.name}-${sts.metadata.name}-${ordinal}`;
  }

  private createClaims(sts: Obj, ordinal: number): void {
    const ns = sts.metadata.namespace;
    for (const template of (sts.spec.volumeClaimTemplates ?? []) as Obj[]) {
      const name = this.claimName(sts, template, ordinal);
      if (this.store.tryGet(this.pvcType, ns, name)) continue;
      const metadata: Obj = {
        name,
        labels: { ...(template.metadata?.labels ?? {}), ...(sts.spec.selector?.matchLabels ?? {}) },
      };
      if (template.metadata?.annotations) metadata.annotations = deepCopy(template.metadata.annotations);
      if (sts.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete') metadata.ownerReferences = [setOwnerRef(sts)];
      const claim = this.store.create(this.pvcType, ns, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata, spec: deepCopy(template.spec) });
      const status = {
        phase: 'Bound',
        accessModes: deepCopy(claim.spec.accessModes),
        capacity: { storage: getPath(claim.spec, ['resources', 'requests', 'storage']) },
      };
      this.store.update(this.pvcType, ns, name, { ...claim, status }, { subresource: 'status' });
    }
  }

  private deleteClaims(sts: Obj, ordinal: number): void {
    for (const template of (sts.spec.volumeClaimTemplates ?? []) as Obj[]) {
      const name = this.claimName(sts, template, ordinal);
      this.ignoringApiErrors(() => this.store.delete(this.pvcType, sts.metadata.namespace, name));
    }
  }

  private createPod(sts: Obj, ordinal: number, revision: string, template: Obj): void {
    const ns = sts.metadata.namespace;
    const name = `${sts.metadata.name}-${ordinal}`;
    const spec = deepCopy(template?.spec ?? {});
    spec.hostname = name;
    if (sts.spec.serviceName) spec.subdomain = sts.spec.serviceName;
    const volumes: Obj[] = spec.volumes ?? [];
    for (const vct of (sts.spec.volumeClaimTemplates ?? []) as Obj[]) {
      const volume = { name: vct.metadata?.name, persistentVolumeClaim: { claimName: this.claimName(sts, vct, ordinal) } };
      const idx = volumes.findIndex((v) => v.name === volume.name);
      if (idx >= 0) volumes[idx] = volume;
      else volumes.push(volume);
    }
    if (volumes.length > 0) spec.volumes = volumes;
    const metadata: Obj = {
      name,
      labels: {
        ...(template?.metadata?.labels ?? {}),
        [REVISION_LABEL]: revision,
        [POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ordinal),
      },
      ownerReferences: [setOwnerRef(sts)],
    };
    if (template?.metadata?.annotations) metadata.annotations = deepCopy(template.metadata.annotations);
    const pod = this.store.create(this.podType, ns, { apiVersion: 'v1', kind: 'Pod', metadata, spec });
    this.store.update(this.podType, ns, name, { ...pod, status: this.runningStatus(pod, this.opts.autoReadyPods) }, { subresource: 'status' });
  }

  /** The status the kubelet would report for a started pod. */
  private runningStatus(pod: Obj, ready: boolean): Obj {
    const now = nowTimestamp();
    const old: Obj = pod.status ?? {};
    const condition = (type: string, status: boolean): Obj => {
      const s = status ? 'True' : 'False';
      const prev = (old.conditions ?? []).find((c: Obj) => c.type === type);
      return { type, status: s, lastProbeTime: null, lastTransitionTime: prev?.status === s ? prev.lastTransitionTime : now };
    };
    const podIP = old.podIP ?? `10.244.${Math.floor(this.nextPodIP / 256)}.${this.nextPodIP++ % 256}`;
    const startTime = old.startTime ?? now;
    return {
      phase: 'Running',
      conditions: [condition('Initialized', true), condition('Ready', ready), condition('ContainersReady', ready), condition('PodScheduled', true)],
      hostIP: '172.18.0.2',
      hostIPs: [{ ip: '172.18.0.2' }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime,
      containerStatuses: ((pod.spec?.containers ?? []) as Obj[]).map((c) => {
        const prev = (old.containerStatuses ?? []).find((s: Obj) => s.name === c.name);
        return {
          name: c.name,
          state: { running: { startedAt: prev?.state?.running?.startedAt ?? startTime } },
          ready,
          restartCount: 0,
          image: c.image,
          imageID: '',
          containerID: prev?.containerID ?? `containerd://${randomBytes(32).toString('hex')}`,
          started: true,
        };
      }),
      qosClass: old.qosClass ?? 'BestEffort',
    };
  }

  private updateStatus(sts: Obj, currentRevisionIn: string, updateRevision: string): void {
    const live = this.store.peekOne(this.stsType, sts.metadata.namespace, sts.metadata.name);
    if (!live || live.metadata.uid !== sts.metadata.uid) return;
    const pods = [...this.ownedPods(live).values()];
    const replicas = pods.length;
    const ready = pods.filter(isRunningAndReady).length;
    const updated = pods.filter((p) => p.metadata.labels?.[REVISION_LABEL] === updateRevision).length;
    let currentRevision = currentRevisionIn;
    let current = pods.filter((p) => p.metadata.labels?.[REVISION_LABEL] === currentRevision).length;
    if (live.spec?.updateStrategy?.type === 'RollingUpdate' && updated === replicas && ready === replicas) {
      currentRevision = updateRevision;
      current = updated;
    }
    const status: Obj = { observedGeneration: live.metadata.generation, replicas };
    if (ready) status.readyReplicas = ready;
    if (current) status.currentReplicas = current;
    if (updated) status.updatedReplicas = updated;
    status.currentRevision = currentRevision;
    status.updateRevision = updateRevision;
    status.collisionCount = 0;
    status.availableReplicas = ready;
    if (deepEqual(status, live.status)) return;
    this.store.update(this.stsType, live.metadata.namespace, live.metadata.name, { ...live, status }, { subresource: 'status' });
  }

  /** The external resizer + kubelet: a grown request is reflected in status.capacity on the next step. */
  private resizeClaims(): void {
    for (const pvc of this.store.peek(this.pvcType)) {
      if (pvc.status?.phase !== 'Bound') continue;
      const requested = getPath(pvc.spec, ['resources', 'requests', 'storage']) as string | undefined;
      const capacity = getPath(pvc.status, ['capacity', 'storage']) as string | undefined;
      if (requested === undefined || (capacity !== undefined && compareQuantities(requested, capacity) <= 0)) continue;
      const status = { ...pvc.status, capacity: { ...(isObject(pvc.status.capacity) ? pvc.status.capacity : {}), storage: requested } };
      this.ignoringApiErrors(() =>
        this.store.update(this.pvcType, pvc.metadata.namespace, pvc.metadata.name, { ...pvc, status }, { subresource: 'status' }),
      );
    }
  }
}
