import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main';
import { API_VERSION, KIND, type RedisInstanceSpec } from '../../src/api/types';
import { startTestApiServer, type TestApiServer } from '../support/apiserver';
import { captureIO } from '../support/cli';

/** A test API server, a kubeconfig for it, and `cli(...)` that runs the bin in-process against it. */
export interface Harness {
  server: TestApiServer;
  kubeconfig: string;
  /** Run `redis-gitops <args>` with small timeouts; returns exit code and captured output. */
  cli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; out: string[]; err: string[] }>;
  /** Run `reconcile -A -o json` and parse the JSON lines. */
  reconcile(extra?: string[]): Promise<{ code: number; lines: any[]; err: string[] }>;
  instance(namespace: string, name: string, spec: RedisInstanceSpec, extra?: Record<string, unknown>): any;
  get(kind: string, namespace: string, name: string): any;
  /** The requests logged since the last reset, as `METHOD path`. */
  writes(): string[];
  stop(): Promise<void>;
}

const API_VERSIONS: Record<string, string> = {
  StatefulSet: 'apps/v1', ConfigMap: 'v1', Service: 'v1', PodDisruptionBudget: 'policy/v1', PersistentVolumeClaim: 'v1',
  Pod: 'v1', Secret: 'v1', Event: 'v1', Lease: 'coordination.k8s.io/v1', StorageClass: 'storage.k8s.io/v1', RedisInstance: API_VERSION,
  ServiceAccount: 'v1', Role: 'rbac.authorization.k8s.io/v1', RoleBinding: 'rbac.authorization.k8s.io/v1',
};

/** Flags that keep the tests fast: short timeouts and backoff. */
export const FAST = ['--request-timeout', '300', '--retry-backoff', '1', '--retry-max-delay', '20'];

export async function startHarness(options: { autoReadyPods?: boolean } = {}): Promise<Harness> {
  const server = await startTestApiServer({ autoReadyPods: options.autoReadyPods ?? true });
  const dir = mkdtempSync(join(tmpdir(), 'redis-gitops-reconcile-'));
  const kubeconfig = server.writeKubeconfig(dir);
  const harness: Harness = {
    server,
    kubeconfig,
    async cli(args, env = {}) {
      const io = captureIO(env);
      // The fast defaults go first so that a test's own flags win.
      const code = await run([args[0], ...FAST, '--kubeconfig', kubeconfig, ...args.slice(1)], io);
      return { code, out: io.out, err: io.err };
    },
    async reconcile(extra = []) {
      const { code, out, err } = await harness.cli(['reconcile', '-A', '-o', 'json', ...extra]);
      return { code, lines: out.map((l) => JSON.parse(l)), err };
    },
    instance(namespace, name, spec, extra = {}) {
      return server.create({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace, ...extra }, spec });
    },
    get(kind, namespace, name) {
      return server.get({ apiVersion: API_VERSIONS[kind], kind, namespace, name });
    },
    writes() {
      return server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

export function podUids(server: TestApiServer, namespace: string): Record<string, string> {
  return Object.fromEntries(server.list('v1', 'Pod', namespace).map((p) => [p.metadata.name, p.metadata.uid]));
}
