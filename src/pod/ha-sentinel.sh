# The Sentinel container: write sentinel.conf on first start (the emptyDir keeps it, and
# Sentinel's own rewrites of it, across container restarts), start the promotion guard in
# the background, then exec redis-sentinel.
set -eu
. "${0%/*}/ha-lib.sh"
conf="$SENTINEL_DIR/sentinel.conf"

# Promotion guard: a node that started with an empty data directory runs with
# replica-priority 0 (see ha-init.sh), so Sentinel never promotes it; once its first sync
# has completed (link up), it gets the configured priority back. It re-checks every second
# forever, so a restart of the redis container (which reloads replica-priority 0) is
# covered too.
guard() {
  while :; do
    sleep 1
    info=$(local_cli info replication) || continue
    [ "$(field role)" = slave ] && [ "$(field master_link_status)" = up ] || continue
    current=$(local_cli config get replica-priority | sed -n 2p) || continue
    if [ "$current" = 0 ] && [ "$REPLICA_PRIORITY" != 0 ]; then
      if [ "$(local_cli config set replica-priority "$REPLICA_PRIORITY")" = OK ]; then
        log "first sync complete: replica-priority $REPLICA_PRIORITY (this node may now be promoted)"
      fi
    fi
  done
}

if [ ! -s "$conf" ]; then
  # Monitor the primary the local Redis follows (the init container chose it).
  n=0
  until info=$(local_cli info replication) && [ -n "$(field role)" ]; do
    [ "$n" -lt "$START_TIMEOUT_SECONDS" ] || { log "the local Redis did not answer within $START_TIMEOUT_SECONDS s"; exit 1; }
    n=$((n + 1)); sleep 1
  done
  if [ "$(field role)" = master ]; then primary=$me; else primary=$(field master_host); fi
  {
    if [ -n "$tls_flags" ]; then
      # spec.tls: TLS only on the Sentinel port (plain TCP only on SENTINEL_PLAINTEXT_PORT
      # during a migration, as Redis on 6380), and the TLS directives of redis.conf: the
      # certificate files, tls-auth-clients, the user's tuning keys, and tls-replication yes,
      # which makes Sentinel's own connections to Redis and to the other Sentinels TLS.
      echo "port ${SENTINEL_PLAINTEXT_PORT:-0}"
      echo "tls-port $SENTINEL_PORT"
      sed -n '/^tls-port /d; /^tls-/p' "${0%/*}/redis.conf"
    else
      echo "port $SENTINEL_PORT"
    fi
    echo "dir $SENTINEL_DIR"
    # Before `sentinel monitor`: its host is a DNS name.
    echo 'sentinel resolve-hostnames yes'
    echo 'sentinel announce-hostnames yes'
    echo "sentinel announce-ip $me"
    echo "sentinel announce-port $SENTINEL_PORT"
    echo "sentinel monitor $INSTANCE $primary $REDIS_PORT $SENTINEL_QUORUM"
    echo "sentinel down-after-milliseconds $INSTANCE $SENTINEL_DOWN_AFTER_MS"
    echo "sentinel failover-timeout $INSTANCE $SENTINEL_FAILOVER_TIMEOUT_MS"
    echo "sentinel parallel-syncs $INSTANCE 1"
    # With auth: the password as the init container escaped it for redis.conf.
    pass=$(sed -n 's/^masterauth //p' "$RUNTIME_CONF")
    if [ -n "$pass" ]; then
      echo "sentinel auth-pass $INSTANCE $pass"
      echo "requirepass $pass"
    else
      echo 'protected-mode no'
    fi
  } > "$conf.tmp"
  mv "$conf.tmp" "$conf"
  log "Sentinel monitors $INSTANCE at $primary"
fi

# A restart after a live rotation: Sentinel's own rewrite of its file keeps the password it
# started with (its `requirepass` line wins over its `user default` line), so the password
# lines are taken from the runtime include, which the config agent keeps current.
pass=$(sed -n 's/^masterauth //p' "$RUNTIME_CONF")
if [ -n "$pass" ] && grep -q '^requirepass ' "$conf"; then
  {
    grep -v -e '^requirepass ' -e '^user default ' -e "^sentinel auth-pass $INSTANCE " -e '^sentinel sentinel-pass ' "$conf" || :
    echo "sentinel auth-pass $INSTANCE $pass"
    echo "requirepass $pass"
  } > "$conf.tmp"
  mv "$conf.tmp" "$conf"
fi

guard &
exec redis-sentinel "$conf"
