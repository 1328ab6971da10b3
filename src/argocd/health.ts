import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_GROUP, KIND } from '../api/types';

/**
 * The Lua health checks Argo CD runs for our kinds. The scripts live in their own files
 * (src/argocd/*.lua, shipped next to the compiled code) so they can be read, reviewed and
 * tested as Lua, and copied into a Helm values file by teams that install Argo CD by Helm.
 */

/** Path of the RedisInstance health check script. */
export const REDIS_INSTANCE_HEALTH_LUA_FILE = join(__dirname, 'health.lua');
/** Path of the Application health check script (app-of-apps layout). */
export const APPLICATION_HEALTH_LUA_FILE = join(__dirname, 'application-health.lua');

/** The argocd-cm key of a health check: `resource.customizations.health.<group>_<kind>`. */
export function healthCustomizationKey(group: string, kind: string): string {
  return `resource.customizations.health.${group}_${kind}`;
}

/** `resource.customizations.health.redis.github.com_RedisInstance` */
export const REDIS_INSTANCE_HEALTH_KEY = healthCustomizationKey(API_GROUP, KIND);
/** `resource.customizations.health.argoproj.io_Application` */
export const APPLICATION_HEALTH_KEY = healthCustomizationKey('argoproj.io', 'Application');

/** The RedisInstance health check (Lua 5.1, the global `obj` is the live RedisInstance). */
export function redisInstanceHealthLua(): string {
  return readFileSync(REDIS_INSTANCE_HEALTH_LUA_FILE, 'utf8');
}

/** The Application health check for app-of-apps (Lua 5.1, `obj` is a child Application). */
export function applicationHealthLua(): string {
  return readFileSync(APPLICATION_HEALTH_LUA_FILE, 'utf8');
}
