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
import { TLS_CLI_FLAGS_ENV, TLS_VOLUME } from '../../../src/render/tls';
import { TLS_FILE_DIRECTIVES, hostPath, podSpec, type Mount, type Secrets } from '../redis/seam';

/**
 * redis.conf as a pod runs it here: `dir /data` and `include /run/redis/runtime.conf` → host
 * folders; with TLS (a `tls-port` line) the certificate file directives too. Ports stay.
 */
export function remapPodConf(conf: string, redisMounts: readonly Mount[]): string {
  const lines = conf.split('\n');
  const tls = lines.some((l) => l.startsWith('tls-port '));
  return rewriteConfLines(conf, [
    [`dir ${DATA_DIR}`, `dir ${quoteConfArg(hostPath(redisMounts, DATA_DIR))}`],
    [`include ${RUNTIME_CONFIG_FILE}`, `include ${quoteConfArg(hostPath(redisMounts, RUNTIME_CONFIG_FILE))}`],
    ...(tls ? TLS_FILE_DIRECTIVES.map((directive) => {
      const line = lines.find((l) => l.startsWith(`${directive} `));
      if (!line) throw new Error(`redis.conf with tls-port has no ${directive}`);
      return [line, `${directive} ${quoteConfArg(hostPath(redisMounts, line.slice(directive.length + 1)))}`] as const;
    }) : []),
  ]);
}

/**
 * REDIS_CLI_TLS_FLAGS (`--tls --cacert <path> --cert <path> --key <path>`): each path → the
 * file here, through the container's mounts. The scripts split the value into words, so a
 * host path with a space throws rather than running something else.
 */
export function remapTlsFlagsEnv(env: Readonly<Record<string, string>>, mounts: readonly Mount[]): Record<string, string> {
  const flags = env[TLS_CLI_FLAGS_ENV];
  if (flags === undefined) return { ...env };
  let paths = 0;
  const mapped = flags.split(' ').map((word, i, words) => {
    if (!['--cacert', '--cert', '--key'].includes(words[i - 1] ?? '')) return word;
    paths += 1;
    const path = hostPath(mounts, word);
    if (/\s/.test(path)) throw new Error(`${TLS_CLI_FLAGS_ENV}: the host path ${JSON.stringify(path)} has a space`);
    return path;
  }).join(' ');
  if (paths !== 3) throw new Error(`${TLS_CLI_FLAGS_ENV}: expected --cacert, --cert and --key, got ${JSON.stringify(flags)}`);
  return { ...env, [TLS_CLI_FLAGS_ENV]: mapped };
}

/** The pod's TLS files (PEM), from the Secret its `tls` volume mounts, for the tests' clients; undefined without TLS. */
export interface PodTls { readonly ca: string; readonly cert: string; readonly key: string }
export function podTls(source: FailoverPodSource, secrets: Secrets = {}): PodTls | undefined {
  const volume = (podSpec(source.statefulSet).volumes ?? []).find((v) => v.name === TLS_VOLUME);
  if (!volume) return undefined;
  const data = secrets[volume.secret!.secretName!];
  if (!data) throw new Error(`the pods mount the TLS Secret "${volume.secret!.secretName}": pass it in secrets`);
  return { ca: data['ca.crt'], cert: data['tls.crt'], key: data['tls.key'] };
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
