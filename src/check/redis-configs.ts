import { loadAll } from 'js-yaml';
import { CONFIG_FILE } from '../redis-conf/render';
import { MANAGED_BY } from '../render/instance';

/** One instance's redis.conf, as its ConfigMap in the synthesized files holds it. */
export interface RenderedRedisConf {
  /** `namespace/name` of the instance. */
  readonly instance: string;
  readonly redisConf: string;
}

/**
 * The redis.conf of every instance in synthesized dist/ files: the `redis.conf` key of
 * each ConfigMap that redis-gitops rendered (`app.kubernetes.io/managed-by: redis-gitops`),
 * in file order.
 */
export function renderedRedisConfs(files: ReadonlyMap<string, string>): RenderedRedisConf[] {
  const out: RenderedRedisConf[] = [];
  for (const [file, text] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!/\.ya?ml$/.test(file)) continue;
    for (const doc of loadAll(text) as any[]) {
      const conf = doc?.kind === 'ConfigMap' ? doc.data?.[CONFIG_FILE] : undefined;
      if (typeof conf !== 'string' || doc.metadata?.labels?.['app.kubernetes.io/managed-by'] !== MANAGED_BY) continue;
      out.push({ instance: `${doc.metadata.namespace ?? 'default'}/${doc.metadata.name}`, redisConf: conf });
    }
  }
  return out;
}
