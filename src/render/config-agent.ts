import { podScript } from './pod-script';
import type { V1Container, V1EnvVar, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ResolvedRedisInstance } from '../api/types';
import { LIVE_CONFIG_FILE, renderLiveConf, restartConfigHash } from '../redis-conf/live-config';
import { CONFIG_DIR, REDIS_PORT, RUNTIME_CONFIG_DIR, RUNTIME_CONFIG_FILE } from '../redis-conf/render';
import { SENTINEL_PORT } from './sentinel';
import { TLS_CLI_FLAGS, TLS_VOLUME_MOUNT, tlsOf } from './tls';

/**
 * The config agent of each pod (docs/live-changes.md): a container from the instance's own
 * Redis image that runs src/pod/config-agent.sh from the ConfigMap volume. It applies the
 * live keys of live.conf with CONFIG SET when the kubelet updates the volume, and rotates
 * the password from the Secret volume. Pure builders; instance.ts puts them in the pod.
 */

export const AGENT_CONTAINER_NAME = 'config-agent';
export const AGENT_SCRIPT_FILE = 'config-agent.sh';
/** The agent's one-line status, on the memory-backed runtime emptyDir (format: docs/live-changes.md). */
export const AGENT_STATUS_FILE = `${RUNTIME_CONFIG_DIR}/agent-status`;
/** Seconds between the agent's looks at the mounted files. */
export const AGENT_INTERVAL_SECONDS = 2;
/** Default of spec.auth.rotationGracePeriodSeconds: how long the old password still works after a rotation. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 300;

/** The Secret volume (tmpfs, read-only) with the password as the file `password`. */
export const AUTH_VOLUME = 'auth';
export const AUTH_DIR = '/run/secrets/redis-gitops';
export const PASSWORD_FILE = `${AUTH_DIR}/password`;

/** The agent's script (a file of its own so it can be read, linted and run by tests), as the ConfigMap carries it. */
export const CONFIG_AGENT_SCRIPT = podScript(AGENT_SCRIPT_FILE);

const AGENT_RESOURCES = { requests: { cpu: '5m', memory: '8Mi' }, limits: { cpu: '50m', memory: '32Mi' } };

/** The agent's files in the instance's ConfigMap, next to redis.conf. */
export function configAgentData(config: Readonly<Record<string, string>>): Record<string, string> {
  return { [LIVE_CONFIG_FILE]: renderLiveConf(config), [AGENT_SCRIPT_FILE]: CONFIG_AGENT_SCRIPT };
}

/**
 * The pod template's config hash: the restart-only part of redis.conf (live-config.ts)
 * and the agent's script, so a new script rolls the pods but a live value does not.
 */
export function podConfigHash(config: Readonly<Record<string, string>>): string {
  return restartConfigHash(config, [CONFIG_AGENT_SCRIPT]);
}

/** The Secret volume; none without spec.auth. */
export function authVolumes(instance: ResolvedRedisInstance): V1Volume[] {
  const auth = instance.spec.auth;
  return auth ? [{ name: AUTH_VOLUME, secret: { secretName: auth.secretName, items: [{ key: auth.secretKey, path: 'password' }], defaultMode: 0o440 } }] : [];
}

/** The Secret volume's mount, read-only; none without spec.auth. */
export function authMounts(instance: ResolvedRedisInstance): V1VolumeMount[] {
  return instance.spec.auth ? [{ name: AUTH_VOLUME, mountPath: AUTH_DIR, readOnly: true }] : [];
}

/** REDIS_PASSWORD_FILE: where the scripts and probes read the password (a path, not the password). */
export function passwordFileEnv(instance: ResolvedRedisInstance): V1EnvVar[] {
  return instance.spec.auth ? [{ name: 'REDIS_PASSWORD_FILE', value: PASSWORD_FILE }] : [];
}

export function configAgentContainer(instance: ResolvedRedisInstance, securityContext: V1SecurityContext): V1Container {
  const auth = instance.spec.auth;
  // With spec.tls, 6379 speaks TLS only: the agent connects like the probes, with the pod's certificate.
  const tls = tlsOf(instance) !== undefined;
  return {
    name: AGENT_CONTAINER_NAME,
    image: instance.spec.image,
    command: ['sh', `${CONFIG_DIR}/${AGENT_SCRIPT_FILE}`],
    env: [
      { name: 'REDIS_PORT', value: String(REDIS_PORT) },
      { name: 'AGENT_STATUS', value: AGENT_STATUS_FILE },
      { name: 'AGENT_INTERVAL_SECONDS', value: String(AGENT_INTERVAL_SECONDS) },
      ...(tls ? [{ name: 'REDIS_CLI_TLS_FLAGS', value: TLS_CLI_FLAGS }] : []),
      // With failover, a rotated password goes to the pod's Sentinel too (auth-pass).
      ...(instance.spec.failover ? [{ name: 'SENTINEL_PORT', value: String(SENTINEL_PORT) }, { name: 'INSTANCE', value: instance.name }] : []),
      ...(auth ? [
        { name: 'RUNTIME_CONF', value: RUNTIME_CONFIG_FILE },
        ...passwordFileEnv(instance),
        { name: 'ROTATION_GRACE_SECONDS', value: String(auth.rotationGracePeriodSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS) },
      ] : []),
    ],
    resources: structuredClone(AGENT_RESOURCES),
    securityContext,
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      // Read-write: the status file, and the runtime include's password after a rotation.
      { name: 'runtime', mountPath: RUNTIME_CONFIG_DIR },
      ...authMounts(instance),
      ...(tls ? [structuredClone(TLS_VOLUME_MOUNT)] : []),
    ],
  };
}
