# preStop of the redis container: when this node is the primary, hand the role to an
# up-to-date replica through Sentinel before the kubelet stops Redis. Writes are paused
# (CLIENT PAUSE WRITE: clients wait, nothing is refused or lost) until a replica has every
# write, then another pod's Sentinel (this pod's own is stopping too) runs the failover.
# Bounded by PRE_STOP_TIMEOUT_SECONDS, within terminationGracePeriodSeconds; on any failure
# writes resume and Redis stops as without the hook (Sentinel then fails over as for a crash).
# $1: the env file the init container wrote (instance, pod and ports).
set -eu
# shellcheck disable=SC1090
. "$1"
. "${0%/*}/ha-lib.sh"
limit=$PRE_STOP_TIMEOUT_SECONDS
started=$(date +%s)
left() { echo $((limit - ($(date +%s) - started))); }
# Redis refuses SIGTERM while it writes its initial AOF (a replica just after a full sync
# logs "Writing initial AOF, can't exit"), and then runs on until the kubelet's SIGKILL at
# the end of terminationGracePeriodSeconds. So, on every way out, the hook waits within its
# budget until no AOF rewrite is in progress: the kubelet's SIGTERM follows the hook.
aof_settled() {
  while info=$(local_cli info persistence) && { [ "$(field aof_rewrite_in_progress)" = 1 ] || [ "$(field aof_rewrite_scheduled)" = 1 ]; }; do
    [ "$(left)" -gt 0 ] || { log "preStop: an AOF rewrite is still running after $limit s"; return 0; }
    sleep 0.1
  done
}
trap aof_settled EXIT

info=$(local_cli info replication) || exit 0
[ "$(field role)" = master ] || exit 0
[ "$(field connected_slaves)" != 0 ] || { log "preStop: primary without replicas, nothing to fail over to"; exit 0; }

resume() { local_cli client unpause >/dev/null || :; log "preStop: $*; writes resumed"; exit 0; }
[ "$(local_cli client pause $((limit * 1000)) write)" = OK ] || { log "preStop: CLIENT PAUSE refused"; exit 0; }

# Until the replicas have every write: each replica's own slave_repl_offset, read from it
# (the primary learns of acknowledgements only once a second, and WAIT is paused too). All
# of them, so that Sentinel's choice (priority, then offset) is up to date whichever it
# picks; after 2 s, one is enough.
info=$(local_cli info replication) || resume "the local Redis did not answer"
target=$(field master_repl_offset)
connected=$(field connected_slaves)
waited=0
while :; do
  synced=0
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    if [ "$i" != "$ordinal" ] && info=$(cli -h "$(peer_name "$i")" -p "$REDIS_PORT" info replication) \
      && [ "$(field master_host)" = "$me" ] && [ "$(field slave_repl_offset)" -ge "$target" ] 2>/dev/null; then
      synced=$((synced + 1))
    fi
    i=$((i + 1))
  done
  if [ "$synced" -ge "$connected" ] || { [ "$synced" -ge 1 ] && [ "$waited" -ge 20 ]; }; then break; fi
  [ "$(left)" -gt 0 ] || resume "no replica caught up within $limit s"
  waited=$((waited + 1))
  sleep 0.1
done

asked=
i=0
while [ "$i" -lt "$REPLICAS" ]; do
  if [ "$i" != "$ordinal" ] && [ "$(cli -h "$(peer_name "$i")" -p "$SENTINEL_PORT" sentinel failover "$INSTANCE")" = OK ]; then
    asked=$(peer_name "$i"); break
  fi
  i=$((i + 1))
done
[ -n "$asked" ] || resume "no Sentinel accepted SENTINEL FAILOVER $INSTANCE"
log "preStop: failover of $INSTANCE requested from the Sentinel of $asked"

# Until that Sentinel names the promoted replica. Writes stay paused if it does not: the
# failover may still complete, and a write taken here now could be lost with this node.
until named=$(cli -h "$asked" -p "$SENTINEL_PORT" sentinel get-master-addr-by-name "$INSTANCE" | sed -n 1p) \
  && [ -n "$named" ] && [ "$named" != "$me" ]; do
  [ "$(left)" -gt 0 ] || { log "preStop: the failover did not finish within $limit s; stopping with writes paused"; exit 0; }
  sleep 0.1
done
# Until every other Sentinel that answers names it too (they hear of it within
# milliseconds): a client asking one that has not switched yet would come back here.
sentinels_agree() {
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    if [ "$i" != "$ordinal" ]; then
      n=$(cli -h "$(peer_name "$i")" -p "$SENTINEL_PORT" sentinel get-master-addr-by-name "$INSTANCE" | sed -n 1p) || n=
      [ -z "$n" ] || [ "$n" = "$1" ] || return 1
    fi
    i=$((i + 1))
  done
}
until sentinels_agree "$named"; do
  [ "$(left)" -gt 0 ] || break
  sleep 0.05
done

# Paused clients reconnect now (through Sentinel, to the new primary) instead of when Redis
# exits; their waiting commands were never executed here.
local_cli client kill type normal >/dev/null || :
log "preStop: $named is the primary now; stopping"
