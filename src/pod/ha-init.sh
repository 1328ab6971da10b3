# Start-up of a failover pod, run by the init container after the runtime include is
# written: decide whom this node follows, before Redis starts. The rule (docs/failover.md,
# "Start-up and election"):
#  1. The Sentinels of the other pods name the primary: follow it. When they name this pod
#     (it restarted before they noticed), wait for their failover; with data, take the
#     primary role back if none happens within 2 x down-after + 5 s.
#  2. No Sentinel knows a primary, but a running Redis of another pod is a primary (or
#     follows one): follow it.
#  3. Nobody runs (first creation, or every pod restarted and Sentinel state is gone):
#     every node serves its own offset and key count read-only on its port, and once all
#     REPLICAS nodes answer, each picks the same winner: holds keys, then highest
#     replication offset, then most keys, then lowest ordinal.
# Never: follow a primary that holds no keys while this node holds keys (a full sync would
# delete them); the script waits, logging why, and fails after START_TIMEOUT_SECONDS.
set -eu
. "${0%/*}/ha-lib.sh"
conf=$RUNTIME_CONF
run_dir=${conf%/*}
inspect_conf="$run_dir/inspect.conf"
inspect_sock="$run_dir/inspect.sock"
inspect_pid=
# The inspect server's network port: tls-port with TLS (see start_inspect).
if [ -n "$tls_flags" ]; then listen_key=tls-port; else listen_key=port; fi

has_data_files() {
  [ -e "$DATA_DIR/$RDB_FILENAME" ] || [ -e "$DATA_DIR/$AOF_DIRNAME" ] || [ -e "$DATA_DIR/$AOF_FILENAME" ]
}

# Whether the data directory held data when the pod started (before the inspect server ran).
if has_data_files; then started_with_data=1; else started_with_data=0; fi

# A read-only Redis over this node's data directory: the real redis.conf (so it loads what
# Redis will load), as a replica of a host that never resolves (so it keeps the offset the
# data was saved at, refuses writes and never syncs), saving nothing. Listens on the real
# port while electing (peers read it), on a unix socket only otherwise.
start_inspect() {
  {
    echo "include ${0%/*}/redis.conf"
    # With TLS the real port speaks TLS only, as Redis will (peers read it with TLS).
    if [ -n "$tls_flags" ]; then echo 'port 0'; echo "tls-port $1"; else echo "port $1"; fi
    echo "unixsocket $inspect_sock"
    echo 'save ""'
    echo "replicaof $ELECTION_HOST $REDIS_PORT"
    echo 'replica-announced no'
    # Nothing to load: keep Redis from creating an AOF in the empty directory.
    [ "$started_with_data" = 1 ] || echo 'appendonly no'
  } > "$inspect_conf"
  redis-server "$inspect_conf" > "$run_dir/inspect.log" 2>&1 &
  inspect_pid=$!
  n=0
  until [ "$(sock_cli "$inspect_sock" ping)" = PONG ]; do
    if ! kill -0 "$inspect_pid" 2>/dev/null; then
      cat "$run_dir/inspect.log" >&2
      log "redis-server could not load $DATA_DIR"; exit 1
    fi
    [ "$n" -lt "$START_TIMEOUT_SECONDS" ] || { log "redis-server did not load $DATA_DIR within $START_TIMEOUT_SECONDS s"; exit 1; }
    n=$((n + 1)); sleep 1
  done
}

stop_inspect() {
  [ -n "$inspect_pid" ] || return 0
  sock_cli "$inspect_sock" shutdown nosave >/dev/null || :
  wait "$inspect_pid" 2>/dev/null || :
  inspect_pid=
  rm -f "$inspect_conf" "$inspect_sock"
}
trap 'stop_inspect' EXIT

# This node's data: offset and keys, from the inspect server (0 0 with no data files).
my_offset=0
my_keys=0
read_my_data() {
  if [ "$started_with_data" = 1 ]; then
    [ -n "$inspect_pid" ] || start_inspect 0
    info=$(sock_cli "$inspect_sock" info replication)
    my_offset=$(field master_repl_offset)
    info=$(sock_cli "$inspect_sock" info keyspace)
    my_keys=$(keys_in)
  fi
}

# The primary the other pods' Sentinels name, by most votes ('' when none knows one).
sentinel_primary() {
  i=0
  votes=
  while [ "$i" -lt "$REPLICAS" ]; do
    if [ "$i" != "$ordinal" ]; then
      host=$(cli -h "$(peer_name "$i")" -p "$SENTINEL_PORT" sentinel get-master-addr-by-name "$INSTANCE" | sed -n 1p) || host=
      [ -z "$host" ] || votes="$votes$host
"
    fi
    i=$((i + 1))
  done
  printf '%s' "$votes" | sort | uniq -c | sort -k1,1nr -k2,2 | awk 'NR == 1 { print $2 }'
}

# The primary the running Redis of the other pods point at ('' when none runs): a primary
# itself, or the master_host of a replica. Electing nodes do not count.
running_primary() {
  i=0
  found=
  while [ "$i" -lt "$REPLICAS" ]; do
    if [ "$i" != "$ordinal" ]; then
      peer=$(peer_name "$i")
      if info=$(cli -h "$peer" -p "$REDIS_PORT" info replication) && [ -n "$(field role)" ]; then
        if [ "$(field role)" = master ]; then found=$peer; break; fi
        mh=$(field master_host)
        if [ "$mh" != "$ELECTION_HOST" ] && [ -n "$mh" ] && [ -z "$found" ]; then found=$mh; fi
      fi
    fi
    i=$((i + 1))
  done
  printf '%s' "$found"
}

# Election: "<has keys> <offset> <keys> <ordinal>" of every node, or fail when one is missing.
election_table() {
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    if [ "$i" = "$ordinal" ]; then
      offset=$my_offset; keys=$my_keys
    else
      info=$(cli -h "$(peer_name "$i")" -p "$REDIS_PORT" info replication) || return 1
      [ "$(field master_host)" = "$ELECTION_HOST" ] || return 1
      offset=$(field master_repl_offset)
      info=$(cli -h "$(peer_name "$i")" -p "$REDIS_PORT" info keyspace) || return 1
      keys=$(keys_in)
    fi
    [ "$keys" -gt 0 ] && has=1 || has=0
    echo "$has $offset $keys $i"
    i=$((i + 1))
  done
}

# True when every other node answers and holds no keys.
peers_all_empty() {
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    if [ "$i" != "$ordinal" ]; then
      info=$(cli -h "$(peer_name "$i")" -p "$REDIS_PORT" info keyspace) || return 1
      [ "$(keys_in)" = 0 ] || return 1
    fi
    i=$((i + 1))
  done
}

# Follow $1 unless it holds no keys while this node does. Returns 1 to wait.
can_follow() {
  info=$(cli -h "$1" -p "$REDIS_PORT" info replication) || { log "primary $1 does not answer yet"; return 1; }
  [ "$(field role)" = master ] || { log "$1 is not a primary (yet)"; return 1; }
  info=$(cli -h "$1" -p "$REDIS_PORT" info keyspace) || return 1
  if [ "$(keys_in)" = 0 ] && [ "$my_keys" -gt 0 ]; then
    log "refusing to replicate from $1: it holds no keys and this node holds $my_keys keys; a full sync would delete them (docs/failover.md, \"What an operator sees\")"
    return 1
  fi
}

read_my_data
started=$(date +%s)
role=
primary=
claimed_since=
while :; do
  now=$(date +%s)
  if [ $((now - started)) -ge "$START_TIMEOUT_SECONDS" ]; then
    log "no primary to follow after $START_TIMEOUT_SECONDS s; exiting so that the kubelet retries"
    exit 1
  fi
  named=$(sentinel_primary)
  if [ -n "$named" ] && [ "$named" != "$me" ]; then
    if can_follow "$named"; then role=replica; primary=$named; break; fi
  elif [ "$named" = "$me" ]; then
    # This pod restarted before the Sentinels failed it over: wait for their failover.
    # Primary again only when no peer holds keys, or with keys of its own after
    # 2 x down-after + 5 s without a failover (no replica could be promoted).
    claimed_since=${claimed_since:-$now}
    if peers_all_empty; then
      log "the Sentinels name this pod as primary and no node holds keys: starting as primary"
      role=primary; break
    fi
    if [ "$my_keys" -gt 0 ] && [ $(( (now - claimed_since) * 1000 )) -ge $((2 * SENTINEL_DOWN_AFTER_MS + 5000)) ]; then
      log "the Sentinels still name this pod as primary and no failover happened: starting as primary with $my_keys keys"
      role=primary; break
    fi
    log "the Sentinels name this pod ($my_keys keys) as primary: waiting for their failover"
  elif [ "$(running_primary)" = "$me" ]; then
    # No Sentinel knows a primary, and the running replicas follow this pod (it won the
    # election, or it was the fixed primary before failover was turned on).
    if [ "$my_keys" -gt 0 ] || peers_all_empty; then role=primary; break; fi
    log "the replicas follow this pod, which holds no keys while a peer does: waiting"
  else
    found=$(running_primary)
    if [ -n "$found" ]; then
      if can_follow "$found"; then role=replica; primary=$found; break; fi
    else
      # Nobody runs: elect. Serve this node's data read-only on the real port.
      if ! sock_cli "$inspect_sock" ping >/dev/null || [ "$(sock_cli "$inspect_sock" config get "$listen_key" | sed -n 2p)" = 0 ]; then
        stop_inspect
        start_inspect "$REDIS_PORT"
      fi
      if table=$(election_table); then
        winner=$(printf '%s\n' "$table" | sort -k1,1nr -k2,2nr -k3,3nr -k4,4n | awk 'NR == 1 { print $4 }')
        log "election: $(printf '%s\n' "$table" | awk '{ printf "%s[offset %s, keys %s] ", $4, $2, $3 }')-> $INSTANCE-$winner"
        if [ "$winner" = "$ordinal" ]; then role=primary; else role=replica; primary=$(peer_name "$winner"); fi
        break
      fi
      log "electing: waiting until all $REPLICAS nodes answer"
    fi
  fi
  sleep 1
done
stop_inspect

# The runtime include: what the config container wrote (password), without its replicaof.
{
  sed '/^replicaof /d' "$conf"
  echo "replica-announce-ip $me"
  if [ "$role" = replica ]; then echo "replicaof $primary $REDIS_PORT"; fi
  if [ "$started_with_data" = 0 ]; then
    # Never promoted before its first sync: the Sentinel container's guard restores it.
    echo 'replica-priority 0'
  fi
} > "$conf.tmp"
mv "$conf.tmp" "$conf"
# For the preStop hook, which runs with the redis container's env. Values single-quoted
# (the TLS flags hold spaces).
{
  for v in INSTANCE POD_NAME POD_NAMESPACE REPLICAS REDIS_PORT SENTINEL_PORT PRE_STOP_TIMEOUT_SECONDS REDIS_CLI_TLS_FLAGS; do
    eval "value=\${$v:-}"
    printf "%s='%s'\\n" "$v" "$(printf '%s' "$value" | sed "s/'/'\\\\''/g")"
  done
} > "$run_dir/ha.env"
if [ "$role" = primary ]; then log "starting as primary"; else log "starting as a replica of $primary"; fi
