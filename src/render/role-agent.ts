import type { V1Container, V1PolicyRule, V1SecurityContext, V1Volume } from '@kubernetes/client-node';
import type { ResolvedRedisInstance } from '../api/types';
import { REDIS_PORT, RUNTIME_CONFIG_DIR } from '../redis-conf/render';
import { AGENT_STATUS_FILE } from './config-agent';
import { IMAGE_REPOSITORY, PACKAGE_VERSION } from '../version';
import { SENTINEL_PORT } from './sentinel';
import { TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE, TLS_VOLUME_MOUNT, tlsOf } from './tls';

/**
 * The name the role agent checks in Redis's and Sentinel's certificate: it connects to
 * 127.0.0.1, and `localhost` is in the rendered Certificate (and must be in a Secret of
 * one's own, as the exporter needs it too).
 */
export const ROLE_AGENT_TLS_SERVER_NAME = 'localhost';

/**
 * The pod agent (spec.podAgent: always with failover): a container in every pod, running
 * `redis-gitops role-agent` from the redis-gitops image (the Redis images have no HTTP
 * client). With failover it keeps its own pod's role label in step with what the local
 * Redis reports, so `<name>-primary` follows a failover within seconds, and carries out
 * the reconciler's failover requests. In every mode it publishes the config agent's status
 * as the pod annotation `redis.github.com/config-status` (docs/live-changes.md). It is the
 * only container that gets a service account token, and that token may get and patch only
 * the instance's own pods.
 */

/** Pod label: `primary` or `replica`, kept by the role agent; `<name>-primary` selects `primary`. */
export const ROLE_LABEL = 'redis.github.com/role';
export type Role = 'primary' | 'replica';
/**
 * Pod annotation (an RFC 3339 time) the reconciler sets on the primary's pod before a
 * scale-down removes it; the role agent answers with `SENTINEL FAILOVER <instance>`.
 */
export const FAILOVER_REQUESTED_ANNOTATION = 'redis.github.com/failover-requested';
/**
 * Pod annotation next to the request: the new primary's ordinal must be below this number
 * (1 when failover is being turned off, the new replica count on a scale-down). The agent
 * steers Sentinel's choice there: Sentinel picks by priority, then offset, then run ID, and
 * after a hand-over every replica has the same offset, so the run IDs alone would decide, the
 * same way every time (the failover tests saw the primary bounce between pods 1 and 2).
 */
export const FAILOVER_BELOW_ANNOTATION = 'redis.github.com/failover-below';

export const ROLE_AGENT_CONTAINER_NAME = 'role-agent';
/** Where the agent reads the password (a Secret volume, never env or args). */
export const ROLE_AGENT_PASSWORD_FILE = '/etc/redis-gitops/auth/password';
/** client-node's in-cluster config reads the token, CA and namespace from here. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Lifetime of the projected token; the kubelet renews it at 80%, client-node re-reads the file. */
export const TOKEN_EXPIRATION_SECONDS = 3600;
/** UID/GID of the `node` user the redis-gitops image runs as. */
const AGENT_UID = 1000;

/** The role agent's image: the redis-gitops image at this package's version. */
export const ROLE_AGENT_IMAGE = `${IMAGE_REPOSITORY}:${PACKAGE_VERSION}`;

/** The flag of a pod agent that only publishes the config status (no failover: no role labels). */
export const STATUS_ONLY_FLAG = '--status-only';

/** True when these containers hold a pod agent that keeps the role label (failover; not `--status-only`). */
export function keepsRoleLabel(containers: readonly V1Container[] | undefined): boolean {
  return (containers ?? []).some((c) => c.name === ROLE_AGENT_CONTAINER_NAME && !(c.args ?? []).includes(STATUS_ONLY_FLAG));
}

export { roleAgentName } from './names';

/** The instance's pods, `<name>-0` .. `<name>-<replicas-1>`: the only ones the agent may touch. */
export function podNames(instance: ResolvedRedisInstance): string[] {
  return Array.from({ length: instance.spec.replicas }, (_, i) => `${instance.name}-${i}`);
}

/** The Role's rules: get (read its labels and annotations) and patch (its role label) its own pods only. */
export function roleAgentRules(instance: ResolvedRedisInstance): V1PolicyRule[] {
  return [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'], resourceNames: podNames(instance) }];
}

const securityContext: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: AGENT_UID,
  runAsGroup: AGENT_UID,
  seccompProfile: { type: 'RuntimeDefault' },
};

const TOKEN_VOLUME = 'role-agent-token';
const PASSWORD_VOLUME = 'role-agent-auth';

/**
 * The agent's volumes: a projected service account token (the pod keeps
 * automountServiceAccountToken false, so no other container gets one) and, with auth,
 * the password as a file readable by the pod's fsGroup.
 */
export function roleAgentVolumes(instance: ResolvedRedisInstance): V1Volume[] {
  const auth = instance.spec.auth;
  return [
    {
      name: TOKEN_VOLUME,
      projected: {
        defaultMode: 0o444,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: TOKEN_EXPIRATION_SECONDS } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
    ...(auth && instance.spec.failover ? [{
      name: PASSWORD_VOLUME,
      secret: { secretName: auth.secretName, items: [{ key: auth.secretKey, path: 'password' }], defaultMode: 0o440 },
    }] : []),
  ];
}

/**
 * The agent's container. With failover it keeps the role label and publishes the config
 * status; without (spec.podAgent true), `--status-only`: it never talks to Redis or
 * Sentinel, sets no role label and gets no password, it only publishes the config agent's
 * status file (read-only mount of the runtime emptyDir) as the pod annotation.
 */
export function roleAgentContainer(instance: ResolvedRedisInstance): V1Container {
  const roles = instance.spec.failover !== undefined;
  const auth = roles && instance.spec.auth !== undefined;
  return {
    name: ROLE_AGENT_CONTAINER_NAME,
    image: ROLE_AGENT_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    args: roles ? ['role-agent'] : ['role-agent', STATUS_ONLY_FLAG],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'INSTANCE', value: instance.name },
      { name: 'CONFIG_STATUS_FILE', value: AGENT_STATUS_FILE },
      ...(roles ? [
        { name: 'REDIS_PORT', value: String(REDIS_PORT) },
        { name: 'SENTINEL_PORT', value: String(SENTINEL_PORT) },
      ] : []),
      ...(auth ? [{ name: 'REDIS_PASSWORD_FILE', value: ROLE_AGENT_PASSWORD_FILE }] : []),
      // spec.tls: Redis and Sentinel speak TLS only; the pod's certificate is the client certificate.
      ...(roles && tlsOf(instance) ? [
        { name: 'REDIS_TLS_CA_FILE', value: TLS_CA_FILE },
        { name: 'REDIS_TLS_CERT_FILE', value: TLS_CERT_FILE },
        { name: 'REDIS_TLS_KEY_FILE', value: TLS_KEY_FILE },
        { name: 'REDIS_TLS_SERVER_NAME', value: ROLE_AGENT_TLS_SERVER_NAME },
      ] : []),
      // A small heap (the agent holds one pod and one INFO reply at a time) and small young
      // generation: measured 97 MiB peak RSS with them (124 MiB without), most of it the
      // Kubernetes client's code; 1.4 s CPU in its first 30 s, start-up included.
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=64 --max-semi-space-size=1' },
    ],
    resources: { requests: { cpu: '10m', memory: '112Mi' }, limits: { memory: '160Mi' } },
    securityContext,
    volumeMounts: [
      { name: TOKEN_VOLUME, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true },
      // The config agent's status file (its only reader here; read-only).
      { name: 'runtime', mountPath: RUNTIME_CONFIG_DIR, readOnly: true },
      ...(auth ? [{ name: PASSWORD_VOLUME, mountPath: ROLE_AGENT_PASSWORD_FILE.replace(/\/[^/]+$/, ''), readOnly: true }] : []),
      // Mode 0440, group = the pod's fsGroup, which this container has as a supplementary group.
      ...(roles && tlsOf(instance) ? [structuredClone(TLS_VOLUME_MOUNT)] : []),
    ],
  };
}
