import type { V1SecurityContext } from '@kubernetes/client-node';

/**
 * What every container of an instance's pod shares, in a module of its own so the
 * renderers of the pod's parts (instance.ts, sentinel.ts, ...) can use it without
 * importing each other.
 */

/** The data volume (the claim template) and where the containers mount it. */
export const DATA_VOLUME = 'redis-data';
export const DATA_DIR = '/data';
/** UID/GID of the `redis` user in the official images (Debian and Alpine). */
export const REDIS_UID = 999;

/** Restricted Pod Security for a container of the Redis image, as the redis user. */
export const REDIS_CONTAINER_SECURITY_CONTEXT: V1SecurityContext = Object.freeze({
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: REDIS_UID,
  runAsGroup: REDIS_UID,
  seccompProfile: { type: 'RuntimeDefault' },
});
