import type { V1ObjectMeta, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ResolvedRedisInstance } from '../api/types';
import { REDIS_PORT } from '../redis-conf/render';

/**
 * TLS for an instance (spec.tls): what redis.conf, the pod and the cert-manager
 * Certificate need. Pure.
 *
 * Redis serves TLS on 6379 (`tls-port 6379`, `port 0`: no plain listener), replicas
 * replicate over TLS (`tls-replication yes`, presenting the pod's certificate as client
 * certificate), the probes and the exporter connect with TLS. With `allowPlaintext`
 * (a migration), plain TCP is also served on PLAINTEXT_PORT.
 *
 * The AOF migration in the init container needs nothing: its temporary redis-server gets
 * its settings on the command line (not from redis.conf), listens on no TCP port and
 * answers only on a unix socket in the pod's private memory volume, which no other pod
 * can reach; TLS protects network connections and there are none.
 */

/** Where the TLS Secret is mounted, read-only, in the redis and exporter containers. */
export const TLS_DIR = '/etc/redis/tls';
export const TLS_VOLUME = 'tls';
export const TLS_CERT_FILE = `${TLS_DIR}/tls.crt`;
export const TLS_KEY_FILE = `${TLS_DIR}/tls.key`;
export const TLS_CA_FILE = `${TLS_DIR}/ca.crt`;
/** Plain TCP during a migration to TLS (allowPlaintext), named `redis-plain`. */
export const PLAINTEXT_PORT = 6380;
export const PLAINTEXT_PORT_NAME = 'redis-plain';

/**
 * Sentinel's plain TCP port during a migration to TLS (allowPlaintext), named
 * `sentinel-plain`: Sentinel serves TLS on 26379 as Redis does on 6379.
 */
export const SENTINEL_PLAINTEXT_PORT = 26380;
export const SENTINEL_PLAINTEXT_PORT_NAME = 'sentinel-plain';

/** redis.conf keys only spec.tls may set (the CRD states the same list in CEL). */
export const TLS_CONFIG_KEYS: readonly string[] = Object.freeze([
  'tls-port', 'tls-cert-file', 'tls-key-file', 'tls-key-file-pass', 'tls-client-cert-file', 'tls-client-key-file',
  'tls-client-key-file-pass', 'tls-ca-cert-file', 'tls-ca-cert-dir', 'tls-dh-params-file', 'tls-replication', 'tls-cluster',
  'tls-auth-clients',
]);

/** spec.tls, resolved, when it is on. */
export function tlsOf(instance: { readonly spec: ResolvedRedisInstance['spec'] }) {
  const tls = instance.spec.tls;
  return tls?.enabled ? tls : undefined;
}

/** The Secret the pods mount: secretName, else the one the Certificate writes. */
export function tlsSecretName(instance: ResolvedRedisInstance): string | undefined {
  const tls = tlsOf(instance);
  return tls ? tls.secretName ?? `${instance.name}-tls` : undefined;
}

/** The redis.conf directives of TLS (nothing without it). */
export function tlsRedisConfig(spec: ResolvedRedisInstance['spec']): Record<string, string> {
  const tls = tlsOf({ spec });
  if (!tls) return {};
  return {
    port: tls.allowPlaintext ? String(PLAINTEXT_PORT) : '0',
    'tls-port': String(REDIS_PORT),
    'tls-cert-file': TLS_CERT_FILE,
    'tls-key-file': TLS_KEY_FILE,
    'tls-ca-cert-file': TLS_CA_FILE,
    'tls-replication': 'yes',
    'tls-auth-clients': tls.authClients ? 'yes' : 'no',
  };
}

/**
 * redis-cli's TLS flags for the probes (and for any script in the pod that talks to the
 * local Redis). The pod's own certificate doubles as client certificate, so they work
 * with `authClients` too. redis-cli checks the chain, not the host name.
 */
export const TLS_CLI_FLAGS = `--tls --cacert ${TLS_CA_FILE} --cert ${TLS_CERT_FILE} --key ${TLS_KEY_FILE}`;
/** The env var that gives the pod scripts (config agent, failover scripts) TLS_CLI_FLAGS. */
export const TLS_CLI_FLAGS_ENV = 'REDIS_CLI_TLS_FLAGS';

export function tlsVolume(instance: ResolvedRedisInstance): V1Volume | undefined {
  const secretName = tlsSecretName(instance);
  // 0440 with the pod's fsGroup: readable by Redis (UID/GID 999), by nobody else.
  return secretName ? { name: TLS_VOLUME, secret: { secretName, defaultMode: 0o440 } } : undefined;
}

export const TLS_VOLUME_MOUNT: V1VolumeMount = { name: TLS_VOLUME, mountPath: TLS_DIR, readOnly: true };

/** cert-manager.io/v1 Certificate, as JSON. */
export interface Certificate {
  apiVersion: 'cert-manager.io/v1';
  kind: 'Certificate';
  metadata: V1ObjectMeta;
  spec: {
    secretName: string;
    issuerRef: { name: string; kind: string; group: string };
    commonName: string;
    dnsNames: string[];
    ipAddresses: string[];
    usages: string[];
    privateKey: { algorithm: string; size: number; rotationPolicy: string };
    secretTemplate: { labels: Record<string, string> };
  };
}

/**
 * The DNS names clients and pods use: the Services (`<name>`, `<name>-primary`) and every
 * pod (`*.<name>`), short and fully qualified, plus localhost and 127.0.0.1 for what
 * runs in the pod (the exporter verifies the host name).
 */
export function tlsDnsNames(instance: ResolvedRedisInstance, primaryService: string): string[] {
  const { name, namespace } = instance;
  return [name, primaryService].flatMap((svc) => [
    svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`,
  ]).concat([`*.${name}.${namespace}.svc`, `*.${name}.${namespace}.svc.cluster.local`, 'localhost']);
}

export function renderCertificate(instance: ResolvedRedisInstance, labels: Record<string, string>, primaryService: string): Certificate | undefined {
  const tls = tlsOf(instance);
  if (!tls?.issuerRef) return undefined;
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: instance.name, namespace: instance.namespace, labels },
    spec: {
      secretName: tlsSecretName(instance)!,
      issuerRef: { ...tls.issuerRef },
      commonName: `${instance.name}.${instance.namespace}.svc`,
      dnsNames: tlsDnsNames(instance, primaryService),
      ipAddresses: ['127.0.0.1'],
      // Server for clients; client for replication to the primary (and authClients).
      usages: ['server auth', 'client auth', 'digital signature', 'key encipherment'],
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      secretTemplate: { labels },
    },
  };
}

/** The CRD's CEL rules on spec.tls and on TLS keys in spec.config. */
export function tlsIssues(spec: any): Array<{ path: ReadonlyArray<string>; message: string }> {
  const out: Array<{ path: ReadonlyArray<string>; message: string }> = [];
  for (const key of Object.keys(spec?.config ?? {})) {
    if (TLS_CONFIG_KEYS.includes(key)) out.push({ path: ['spec', 'config', key], message: `"${key}" is managed by redis-gitops; use spec.tls` });
  }
  const tls = spec?.tls;
  if (tls && typeof tls === 'object' && tls.secretName === undefined && tls.issuerRef === undefined) {
    out.push({ path: ['spec', 'tls'], message: 'needs secretName (an existing Secret with tls.crt, tls.key and ca.crt) or issuerRef (cert-manager makes the Secret)' });
  }
  return out;
}
