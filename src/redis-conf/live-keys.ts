/**
 * Which redis.conf keys Redis applies live (`CONFIG SET`) and which only at start-up, as
 * data. Read from Redis itself: test/redis/live-keys.test.ts starts a real redis-server,
 * checks that this table lists exactly the keys `CONFIG GET *` reports, and runs
 * `CONFIG SET <key> <its current value>` on every one: Redis must accept the live keys and
 * refuse the others (`can't set immutable config` / `can't set protected config`).
 *
 * Covers Redis 7.0 (checked against 7.0.15, the version of Debian 12 and of CI). Another
 * version with other keys fails that test, naming them: update the lists from what it says.
 * A key this table does not know (a newer key, or a directive that is no config such as
 * `loadmodule` or `rename-command`) counts as restart-only: a rolling update always applies it.
 */

/** What Redis answers to `CONFIG SET` of a key with a valid value. */
export type RedisKeyKind = 'live' | 'immutable' | 'protected';

/** `can't set immutable config`: read at start-up only. */
const REDIS_IMMUTABLE: readonly string[] = [
  'aclfile', 'always-show-logo', 'aof_rewrite_cpulist', 'appenddirname', 'appendfilename', 'bgsave_cpulist',
  'bio_cpulist', 'cluster-config-file', 'cluster-enabled', 'cluster-port', 'daemonize', 'databases', 'disable-thp',
  'enable-debug-command', 'enable-module-command', 'enable-protected-configs', 'io-threads', 'io-threads-do-reads',
  'logfile', 'pidfile', 'rdbchecksum', 'replicaof', 'server_cpulist', 'set-proc-title', 'slaveof', 'socket-mark-id',
  'supervised', 'syslog-enabled', 'syslog-facility', 'syslog-ident', 'tcp-backlog', 'unixsocket', 'unixsocketperm',
];

/** `can't set protected config` unless enable-protected-configs (itself immutable) allows it. */
const REDIS_PROTECTED: readonly string[] = [
  'dbfilename', 'dir',
];

/** Accepted by `CONFIG SET`. */
const REDIS_LIVE: readonly string[] = [
  'acl-pubsub-default', 'acllog-max-len', 'active-defrag-cycle-max', 'active-defrag-cycle-min',
  'active-defrag-ignore-bytes', 'active-defrag-max-scan-fields', 'active-defrag-threshold-lower',
  'active-defrag-threshold-upper', 'active-expire-effort', 'activedefrag', 'activerehashing', 'aof-disable-auto-gc',
  'aof-load-truncated', 'aof-rewrite-incremental-fsync', 'aof-timestamp-enabled', 'aof-use-rdb-preamble',
  'appendfsync', 'appendonly', 'auto-aof-rewrite-min-size', 'auto-aof-rewrite-percentage', 'bind',
  'bind-source-addr', 'busy-reply-threshold', 'client-output-buffer-limit', 'client-query-buffer-limit',
  'cluster-allow-pubsubshard-when-down', 'cluster-allow-reads-when-down', 'cluster-allow-replica-migration',
  'cluster-announce-bus-port', 'cluster-announce-hostname', 'cluster-announce-ip', 'cluster-announce-port',
  'cluster-announce-tls-port', 'cluster-link-sendbuf-limit', 'cluster-migration-barrier', 'cluster-node-timeout',
  'cluster-preferred-endpoint-type', 'cluster-replica-no-failover', 'cluster-replica-validity-factor',
  'cluster-require-full-coverage', 'cluster-slave-no-failover', 'cluster-slave-validity-factor', 'crash-log-enabled',
  'crash-memcheck-enabled', 'dynamic-hz', 'hash-max-listpack-entries', 'hash-max-listpack-value',
  'hash-max-ziplist-entries', 'hash-max-ziplist-value', 'hll-sparse-max-bytes', 'hz', 'ignore-warnings',
  'jemalloc-bg-thread', 'latency-monitor-threshold', 'latency-tracking', 'latency-tracking-info-percentiles',
  'lazyfree-lazy-eviction', 'lazyfree-lazy-expire', 'lazyfree-lazy-server-del', 'lazyfree-lazy-user-del',
  'lazyfree-lazy-user-flush', 'lfu-decay-time', 'lfu-log-factor', 'list-compress-depth', 'list-max-listpack-size',
  'list-max-ziplist-size', 'loglevel', 'lua-time-limit', 'masterauth', 'masteruser', 'maxclients', 'maxmemory',
  'maxmemory-clients', 'maxmemory-eviction-tenacity', 'maxmemory-policy', 'maxmemory-samples',
  'min-replicas-max-lag', 'min-replicas-to-write', 'min-slaves-max-lag', 'min-slaves-to-write',
  'no-appendfsync-on-rewrite', 'notify-keyspace-events', 'oom-score-adj', 'oom-score-adj-values', 'port',
  'proc-title-template', 'propagation-error-behavior', 'protected-mode', 'proto-max-bulk-len', 'rdb-del-sync-files',
  'rdb-save-incremental-fsync', 'rdbcompression', 'repl-backlog-size', 'repl-backlog-ttl',
  'repl-disable-tcp-nodelay', 'repl-diskless-load', 'repl-diskless-sync', 'repl-diskless-sync-delay',
  'repl-diskless-sync-max-replicas', 'repl-ping-replica-period', 'repl-ping-slave-period', 'repl-timeout',
  'replica-announce-ip', 'replica-announce-port', 'replica-announced', 'replica-ignore-disk-write-errors',
  'replica-ignore-maxmemory', 'replica-lazy-flush', 'replica-priority', 'replica-read-only',
  'replica-serve-stale-data', 'requirepass', 'sanitize-dump-payload', 'save', 'set-max-intset-entries',
  'shutdown-on-sigint', 'shutdown-on-sigterm', 'shutdown-timeout', 'slave-announce-ip', 'slave-announce-port',
  'slave-ignore-maxmemory', 'slave-lazy-flush', 'slave-priority', 'slave-read-only', 'slave-serve-stale-data',
  'slowlog-log-slower-than', 'slowlog-max-len', 'stop-writes-on-bgsave-error', 'stream-node-max-bytes',
  'stream-node-max-entries', 'tcp-keepalive', 'timeout', 'tls-auth-clients', 'tls-ca-cert-dir', 'tls-ca-cert-file',
  'tls-cert-file', 'tls-ciphers', 'tls-ciphersuites', 'tls-client-cert-file', 'tls-client-key-file',
  'tls-client-key-file-pass', 'tls-cluster', 'tls-dh-params-file', 'tls-key-file', 'tls-key-file-pass', 'tls-port',
  'tls-prefer-server-ciphers', 'tls-protocols', 'tls-replication', 'tls-session-cache-size',
  'tls-session-cache-timeout', 'tls-session-caching', 'tracking-table-max-keys', 'zset-max-listpack-entries',
  'zset-max-listpack-value', 'zset-max-ziplist-entries', 'zset-max-ziplist-value',
];

/**
 * Keys that are part of how redis-gitops wires the pod: they change only with a restart,
 * whatever Redis allows. The listening address and port (Services, probes), the data files
 * (the init container's AOF migration reads them), `protected-mode` (with `bind 0.0.0.0`,
 * `yes` locks out the replicas), the passwords (the agent rotates them from the Secret, not
 * from the ConfigMap), replication and the names replicas announce, and every `cluster-*`
 * key (cluster mode is refused).
 */
export const WIRING_CONFIG_KEYS: readonly string[] = Object.freeze([
  'aclfile', 'appenddirname', 'appendfilename', 'appendonly', 'bind', 'daemonize', 'dbfilename', 'dir', 'logfile',
  'masterauth', 'masteruser', 'port', 'protected-mode', 'replica-announce-ip', 'replica-announce-port', 'replicaof',
  'requirepass', 'slave-announce-ip', 'slave-announce-port', 'slaveof', 'unixsocket',
]);
const WIRING_PREFIX = 'cluster-';

/** Each key Redis 7.0 knows, with what Redis answers to `CONFIG SET`. */
export const REDIS_CONFIG_KEYS: ReadonlyMap<string, RedisKeyKind> = new Map([
  ...REDIS_LIVE.map((k) => [k, 'live'] as const),
  ...REDIS_IMMUTABLE.map((k) => [k, 'immutable'] as const),
  ...REDIS_PROTECTED.map((k) => [k, 'protected'] as const),
]);

export function isWiringKey(key: string): boolean {
  return WIRING_CONFIG_KEYS.includes(key) || key.startsWith(WIRING_PREFIX);
}

/** A key the agent in the pod applies with `CONFIG SET`: Redis sets it live and it is none of our wiring. */
export function isLiveKey(key: string): boolean {
  return REDIS_CONFIG_KEYS.get(key) === 'live' && !isWiringKey(key);
}

/** The key table of docs/live-changes.md (a test keeps the two equal). */
export function liveKeysTable(): string {
  const keys = [...REDIS_CONFIG_KEYS.keys()].sort();
  const list = (pick: (key: string) => boolean) => keys.filter(pick).map((k) => `\`${k}\``).join(', ');
  return [
    '| kind | applied by | keys |',
    '|---|---|---|',
    `| live | the config agent, \`CONFIG SET\`, no restart | ${list(isLiveKey)} |`,
    `| restart-only: Redis refuses \`CONFIG SET\` (immutable) | a rolling update | ${list((k) => REDIS_CONFIG_KEYS.get(k) === 'immutable' && !isWiringKey(k))} |`,
    `| restart-only: protected (\`enable-protected-configs\`) | a rolling update | ${list((k) => REDIS_CONFIG_KEYS.get(k) === 'protected' && !isWiringKey(k)) || '(none besides our wiring)'} |`,
    `| restart-only: our wiring (whatever Redis allows) | a rolling update (most are refused in \`spec.config\`) | ${list(isWiringKey)} |`,
    '| restart-only: any key not listed here (directives such as `loadmodule`, keys of other Redis versions) | a rolling update | |',
  ].join('\n');
}
