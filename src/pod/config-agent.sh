# redis-gitops config agent (docs/live-changes.md): applies the live keys of the mounted
# ConfigMap's live.conf with CONFIG SET, and a rotated password from the mounted Secret,
# to the Redis of its own pod, without a restart. POSIX sh and redis-cli only (Debian and
# Alpine images). Every wait is a sleep of AGENT_INTERVAL_SECONDS; only a change forks.
set -eu

conf_dir=${0%/*}
live_conf="$conf_dir/live.conf"
status_file=${AGENT_STATUS:-/run/redis/agent-status}
interval=${AGENT_INTERVAL_SECONDS:-2}
grace=${ROTATION_GRACE_SECONDS:-300}
port=${REDIS_PORT:-6379}
pw_file=${REDIS_PASSWORD_FILE:-}
tab=$(printf '\t')
nl='
'

log() { printf 'redis-gitops agent: %s\n' "$*" >&2; }

# The password file's exact bytes (a trailing newline is part of the password, as for the
# init container). It reaches redis-cli through REDISCLI_AUTH or stdin (-x), never argv.
read_password() {
  pw=$(cat -- "$pw_file"; printf .)
  pw=${pw%.}
}

current=
# With spec.tls: the probes' TLS flags (fixed paths, no spaces), split into words on purpose.
tls_flags=${REDIS_CLI_TLS_FLAGS:-}
if [ -n "$pw_file" ]; then
  read_password
  current=$pw
  # shellcheck disable=SC2086
  cli() { REDISCLI_AUTH=$current redis-cli $tls_flags -h 127.0.0.1 -p "$port" "$@"; }
else
  # shellcheck disable=SC2086
  cli() { redis-cli $tls_flags -h 127.0.0.1 -p "$port" "$@"; }
fi

# One line: tabs and newlines become spaces, at most 300 bytes (Redis's errors are short).
flat() {
  old_ifs=$IFS
  set -f
  IFS="$tab$nl"
  # shellcheck disable=SC2086 # splitting on tabs and newlines is the point
  set -- $1
  IFS=' '
  flat_out=$(printf '%.300s' "$*")
  IFS=$old_ifs
  set +f
}

# The value CONFIG GET reports for $1 (empty when Redis does not answer).
config_get() {
  cli config get "$1" 2>/dev/null | { read -r _ || :; read -r v || :; printf '%s' "${v:-}"; }
}

# A symlink's target through `cd -P`: the kubelet swaps `..data` on every update of a
# ConfigMap or Secret volume. Built-ins only, so an idle tick forks nothing but sleep.
generation() {
  if cd -P -- "$1/..data" 2>/dev/null; then gen=$PWD; else gen=; fi
  cd /
}

# Status, one line (docs/live-changes.md): tab-separated fields, written atomically.
config_hash=
refusals=
auth_state=
write_status() {
  line="config=$config_hash"
  [ -z "$auth_state" ] || line="$line${tab}auth=$auth_state"
  line="$line$refusals"
  printf '%s\n' "$line" > "$status_file.tmp"
  mv -f -- "$status_file.tmp" "$status_file"
}

# Apply every line of live.conf that differs from the last one this agent applied (at
# start: every line, which is idempotent). A refused value leaves the old one in force;
# the summary line always names the keys that took and those that did not.
applied=
apply_live_conf() {
  hash= took= refused= refusals= seen=
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      "# live-config-hash "*) hash=${line#"# live-config-hash "}; continue ;;
      '#'* | '') continue ;;
    esac
    seen="$seen$line$nl"
    case "$nl$applied" in *"$nl$line$nl"*) continue ;; esac
    key=${line%%"$tab"*}
    value=${line#*"$tab"}
    before=$(config_get "$key")
    out=$(cli config set "$key" "$value" 2>&1) || :
    if [ "$out" = OK ]; then
      after=$(config_get "$key")
      took="$took $key"
      [ "$before" = "$after" ] || log "$key: $before -> $after (CONFIG GET)"
    else
      flat "$out"
      refused="$refused $key"
      refusals="$refusals${tab}refused=$key $flat_out"
      log "$key: Redis refused $value, $before stays in force: $flat_out"
    fi
  done < "$live_conf"
  applied=$seen
  config_hash=$hash
  log "live config $hash: applied:${took:- (no change)}; refused:${refused:- none}"
  write_status
}

# Escape for a redis.conf double-quoted argument, as the init container does.
conf_quote() {
  rest=$(printf '%s.' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
  rest=${rest%.}
  quoted=
  while :; do
    case $rest in
      *"$nl"*) quoted="$quoted${rest%%"$nl"*}\\n"; rest=${rest#*"$nl"} ;;
      *) quoted="$quoted$rest"; break ;;
    esac
  done
}

# The runtime include holds the password a restarted redis container starts with.
rewrite_runtime_conf() {
  conf=${RUNTIME_CONF:-}
  [ -n "$conf" ] && [ -f "$conf" ] || return 0
  conf_quote "$pw"
  {
    while IFS= read -r l || [ -n "$l" ]; do
      case $l in requirepass\ * | masterauth\ *) ;; *) printf '%s\n' "$l" ;; esac
    done < "$conf"
    printf 'requirepass "%s"\nmasterauth "%s"\n' "$quoted" "$quoted"
  } > "$conf.tmp"
  mv -f -- "$conf.tmp" "$conf"
}

# The pod's Sentinel (failover: SENTINEL_PORT and INSTANCE in the env), authenticating
# with $1. Sentinel's own password is the Redis password (ha-sentinel.sh), so it rotates too.
sentinel_cli() {
  s_pw=$1
  shift
  REDISCLI_AUTH=$s_pw redis-cli -h 127.0.0.1 -p "$SENTINEL_PORT" "$@"
}
with_sentinel() { [ -n "${SENTINEL_PORT:-}" ] && [ -n "${INSTANCE:-}" ]; }

# Sentinel's outgoing passwords (auth-pass to the Redis nodes, sentinel-pass to the other
# Sentinels) switch to the new one halfway through the grace period: by then every pod has
# the new password (pods rotate when their kubelet updates the volume, up to a minute or so
# apart) and none has dropped the old one yet, so no link Sentinel makes is refused.
switch_sentinel() {
  out=$(printf '%s' "$current" | sentinel_cli "$current" -x sentinel set "$INSTANCE" auth-pass 2>&1) || :
  [ "$out" = OK ] || { flat "$out"; log "SENTINEL SET $INSTANCE auth-pass failed: $flat_out"; }
  out2=$(printf '%s' "$current" | sentinel_cli "$current" -x sentinel config set sentinel-pass 2>&1) || :
  [ "$out2" = OK ] || { flat "$out2"; log "SENTINEL CONFIG SET sentinel-pass failed: $flat_out"; }
  if [ "$out" = OK ] && [ "$out2" = OK ]; then
    switch_at=
    log "Sentinel now authenticates to the nodes and the other Sentinels with the new password"
  fi
}

# A new password: the default user of Redis (and of the pod's Sentinel) gets it next to
# the old one (clients with either get in), this node authenticates to its primary with
# it, Sentinel halfway through the grace period (switch_sentinel); after the grace period
# the old one is dropped.
old_until=
switch_at=
rotate_password() {
  out=$(printf '>%s' "$pw" | cli -x acl setuser default 2>&1) || :
  if [ "$out" != OK ]; then
    flat "$out"
    auth_state="refused $flat_out"
    log "the new password was not applied (the old one stays): $flat_out"
    return 0
  fi
  previous=$current
  current=$pw
  out=$(printf '%s' "$pw" | cli -x config set masterauth 2>&1) || :
  [ "$out" = OK ] || { flat "$out"; log "CONFIG SET masterauth failed: $flat_out"; }
  if with_sentinel; then
    # Failover pods give Sentinel the Redis password as its requirepass at start.
    out=$(printf '>%s' "$pw" | sentinel_cli "$previous" -x acl setuser default 2>&1) || :
    [ "$out" = OK ] || { flat "$out"; log "Sentinel's ACL SETUSER default failed: $flat_out"; }
    switch_at=$(( $(date +%s) + grace / 2 ))
  fi
  rewrite_runtime_conf
  old_until=$(( $(date +%s) + grace ))
  auth_state="rotating until $old_until"
  log "new password in force; the old one is accepted for $grace s more"
}

drop_old_password() {
  [ -z "$switch_at" ] || switch_sentinel
  out=$(printf '>%s' "$current" | cli -x acl setuser default resetpass 2>&1) || :
  if [ "$out" = OK ] && with_sentinel; then
    out=$(printf '>%s' "$current" | sentinel_cli "$current" -x acl setuser default resetpass 2>&1) || :
    [ "$out" = OK ] || { flat "$out"; out="Sentinel: $flat_out"; }
  fi
  if [ "$out" = OK ]; then
    old_until=
    auth_state=current
    log "grace period over: only the new password is accepted"
  else
    flat "$out"
    log "dropping the old password failed (retrying): $flat_out"
  fi
}

trap 'exit 0' TERM INT

# Redis answers (loading counts). A password it refuses is said once, in the log and the status.
said_auth=
server_up() {
  reply=$(cli ping 2>/dev/null) || :
  case $reply in
    PONG | LOADING*) return 0 ;;
    NOAUTH* | WRONGPASS*)
      if [ -z "$said_auth" ]; then
        said_auth=1
        auth_state="refused Redis does not accept the password in the Secret (it was changed while this agent was not running); the pod needs a restart"
        log "$auth_state"
        write_status
      fi ;;
  esac
  return 1
}

conf_gen=unset
secret_gen=
if [ -n "$pw_file" ]; then
  generation "${pw_file%/*}"
  secret_gen=$gen
  auth_state=current
  # A restarted agent does not know whether a rotation was under way: the grace period
  # runs again from now, then only the Secret's password is kept (Sentinel's too).
  old_until=$(( $(date +%s) + grace ))
  ! with_sentinel || switch_at=$(( $(date +%s) + grace / 2 ))
fi
while :; do
  # Without a kubelet `..data` link (not a ConfigMap volume), live.conf is applied once.
  generation "$conf_dir"
  if [ "$gen" != "$conf_gen" ] && server_up; then
    apply_live_conf
    conf_gen=$gen
  fi
  if [ -n "$pw_file" ]; then
    generation "${pw_file%/*}"
    if [ "$gen" != "$secret_gen" ]; then
      read_password
      if [ "$pw" != "$current" ]; then rotate_password; write_status; fi
      secret_gen=$gen
    fi
    if [ -n "$switch_at" ] && [ "$(date +%s)" -ge "$switch_at" ]; then switch_sentinel; fi
    if [ -n "$old_until" ] && [ "$(date +%s)" -ge "$old_until" ]; then drop_old_password; write_status; fi
  fi
  sleep "$interval" &
  wait $! || :
done
