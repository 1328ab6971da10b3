import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/reconcile/kube';
import { ROLE_LABEL } from '../../../src/render/role-agent';
import { startTestApiServer, type TestApiServer } from '../apiserver';
import { matchesLabelSelector } from '../apiserver/selectors';
import { podSpec } from '../redis/seam';
import type { FailoverCluster } from './cluster';
import type { NetnsPod } from './pod';
import type { FailoverPodSource } from './seam';

/**
 * The Kubernetes side of a netns cluster: a test API server on the host end of the pod
 * network (the pods' namespaces reach it, as a pod reaches the apiserver), holding a Pod
 * object per pod (labels from its template plus `statefulset.kubernetes.io/pod-name`, as the
 * StatefulSet controller sets them) and `<name>-primary`. The pods' role agents (sources made
 * with `roleAgent: true`) run against it with this kubeconfig.
 *
 * Readiness is the pod's processes running: the kubelet marks a pod whose container died
 * not Ready at once; the readiness probe's period is not modelled (`syncReady`).
 */
export class PodApi {
  private service: V1Service;

  private constructor(
    readonly cluster: FailoverCluster,
    readonly server: TestApiServer,
    readonly kubeconfig: string,
    private readonly dir: string,
    service: V1Service,
  ) {
    this.service = service;
  }

  static async connect(cluster: FailoverCluster, options: { readonly agentArgs?: readonly string[] } = {}): Promise<PodApi> {
    const service = cluster.source.primaryService;
    if (!service) throw new Error('connectPodApi: the source has no primary Service (replicas > 1 only)');
    const server = await startTestApiServer({ host: cluster.network.hostIp });
    const dir = mkdtempSync(join(tmpdir(), 'rgt-kube-'));
    const api = new PodApi(cluster, server, server.writeKubeconfig(dir), dir, service);
    cluster.onCleanup(() => api.stop());
    server.create(structuredClone(service));
    for (const pod of cluster.pods) {
      api.createPod(pod, cluster.source);
      pod.roleAgent = { kubeconfig: api.kubeconfig, ...(options.agentArgs ? { args: options.agentArgs } : {}) };
    }
    return api;
  }

  /** The reconciler's client for this server. */
  client(): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromString(this.server.kubeconfigYaml());
    return new KubeClient(kc);
  }

  private ref(pod: NetnsPod) {
    return { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name };
  }

  private createPod(pod: NetnsPod, source: FailoverPodSource): void {
    const template = source.statefulSet.spec!.template;
    this.server.create({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: pod.name, namespace: pod.namespace, labels: { ...template.metadata?.labels, 'statefulset.kubernetes.io/pod-name': pod.name } },
      spec: { containers: podSpec(source.statefulSet).containers.map((c) => ({ name: c.name, image: c.image })) },
    });
  }

  /** The Pod object of `pod`, or undefined. */
  pod(pod: NetnsPod): V1Pod | undefined {
    return this.server.get(this.ref(pod));
  }

  /** The role label of each pod's object, by ordinal. */
  roleLabels(): Array<string | undefined> {
    return this.cluster.pods.map((p) => this.pod(p)?.metadata?.labels?.[ROLE_LABEL]);
  }

  /** Every Pod object Ready exactly when its processes run. */
  syncReady(): void {
    for (const pod of this.cluster.pods) if (this.pod(pod)) this.server.setPodReady(pod.namespace, pod.name, pod.alive);
  }

  /** What `<name>-primary` routes to now: the pods its selector matches that are Ready (processes running). */
  endpoints(): NetnsPod[] {
    return this.cluster.pods.filter((p) => {
      const object = this.pod(p);
      return object && p.alive && matchesLabelSelector({ matchLabels: this.service.spec!.selector }, object.metadata?.labels);
    });
  }

  /** The StatefulSet controller deleted the pod (scale-down): its object goes. */
  deletePod(pod: NetnsPod): void {
    this.server.delete(this.ref(pod));
  }

  /** The pod is recreated from `source`'s template (a rolling update): a new object, new labels, no role label. */
  recreatePod(pod: NetnsPod, source: FailoverPodSource): void {
    if (this.pod(pod)) this.deletePod(pod);
    this.createPod(pod, source);
  }

  /** `<name>-primary` as the reconciler patches it (its selector). */
  applyPrimaryService(service: V1Service): void {
    const live = this.server.get({ apiVersion: 'v1', kind: 'Service', namespace: this.cluster.pods[0].namespace, name: service.metadata!.name! });
    this.server.update({ ...live, spec: { ...live.spec, selector: service.spec!.selector } });
    this.service = structuredClone(service);
  }

  async stop(): Promise<void> {
    await this.server.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Start the test API server for `cluster` (before its pods start: their role agents need it). */
export function connectPodApi(cluster: FailoverCluster, options: { readonly agentArgs?: readonly string[] } = {}): Promise<PodApi> {
  return PodApi.connect(cluster, options);
}
