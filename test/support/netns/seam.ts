/**
 * The seam of the network-namespace harness, as pure functions. In its own namespace a pod
 * keeps its ports (6379, 26379), its listening address and its DNS names; only paths
 * differ, because /data, /run/redis, /run/sentinel and /usr/local/etc/redis are folders
 * under os.tmpdir() here. Each function changes only what it names and throws when that is
 * not there.
 */
import type { V1ConfigMap, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { RUNTIME_CONFIG_FILE } from '../../../src/redis-conf/render';
import { quoteConfArg, rewriteConfLines } from '../../../src/redis-conf/verify';
import { DATA_DIR } from '../../../src/render/instance';
import { hostPath, type Mount } from '../redis/seam';

/** redis.conf as a pod runs it here: `dir /data` and `include /run/redis/runtime.conf` → host folders. */
export function remapPodConf(conf: string, redisMounts: readonly Mount[]): string {
  return rewriteConfLines(conf, [
    [`dir ${DATA_DIR}`, `dir ${quoteConfArg(hostPath(redisMounts, DATA_DIR))}`],
    [`include ${RUNTIME_CONFIG_FILE}`, `include ${quoteConfArg(hostPath(redisMounts, RUNTIME_CONFIG_FILE))}`],
  ]);
}

/** The named env vars (container paths the scripts honour) → host paths; each must be on a mount. */
export function remapPathEnv(
  env: Readonly<Record<string, string>>, mounts: readonly Mount[], names: readonly string[],
): Record<string, string> {
  const out = { ...env };
  for (const name of names) {
    if (out[name] !== undefined) out[name] = hostPath(mounts, out[name]);
  }
  return out;
}

/** What the harness runs: a StatefulSet and its ConfigMap (and `<name>-primary`, for connectPodApi). */
export interface FailoverPodSource {
  readonly statefulSet: V1StatefulSet;
  readonly configMap: V1ConfigMap;
  readonly primaryService?: V1Service;
}
