# shellcheck shell=sh
# Shared by the failover scripts (sourced, never run on its own). Nodes are named by their
# stable pod DNS names (<pod>.<instance>.<namespace>.svc), never by IP.

log() { printf 'redis-gitops: %s\n' "$*" >&2; }

# With spec.auth, redis-cli reads the password from the environment, never from argv.
if [ -n "${REDIS_PASSWORD+set}" ]; then REDISCLI_AUTH=$REDIS_PASSWORD; export REDISCLI_AUTH; fi

ordinal=${POD_NAME##*-}
peer_name() { printf '%s-%s.%s.%s.svc' "$INSTANCE" "$1" "$INSTANCE" "$POD_NAMESPACE"; }
me=$(peer_name "$ordinal")

# With spec.tls: the probes' redis-cli TLS flags (fixed paths without spaces, split into
# words on purpose). Redis (6379) and Sentinel (26379) then speak TLS only, to every client.
tls_flags=${REDIS_CLI_TLS_FLAGS:-}

# Every command to another node is bounded: a vanished pod must not hang the script.
# With the Secret volume's file (REDIS_PASSWORD_FILE), each call reads it, so the scripts
# follow a live rotation (docs/live-changes.md); the '.' keeps a trailing newline.
CLI_TIMEOUT=${CLI_TIMEOUT:-2}
# shellcheck disable=SC2086
cli() {
  if [ -n "${REDIS_PASSWORD_FILE:-}" ] && [ -r "$REDIS_PASSWORD_FILE" ]; then
    REDISCLI_AUTH=$(cat -- "$REDIS_PASSWORD_FILE"; printf .)
    REDISCLI_AUTH=${REDISCLI_AUTH%.}
    export REDISCLI_AUTH
  fi
  timeout "$CLI_TIMEOUT" redis-cli --no-auth-warning $tls_flags "$@" 2>/dev/null
}
local_cli() { cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
# The start-up's inspect server on its unix socket: never TLS (no network, see ha-init.sh).
sock_cli() { timeout "$CLI_TIMEOUT" redis-cli --no-auth-warning -s "$@" 2>/dev/null; }

# field NAME: the value of NAME: in the INFO text in $info ('' when absent).
field() { printf '%s\n' "$info" | sed -n "s/^$1:\\([^[:space:]]*\\).*/\\1/p" | head -n 1; }

# keys_in: the number of keys over all databases in the INFO keyspace text in $info.
keys_in() {
  n=0
  for k in $(printf '%s\n' "$info" | sed -n 's/^db[0-9]*:keys=\([0-9]*\).*/\1/p'); do n=$((n + k)); done
  echo "$n"
}

# The marker an electing node reports as its master_host: .invalid never resolves (RFC 2606),
# so the electing server never syncs, and peers can tell it from a running Redis.
ELECTION_HOST=election.redis-gitops.invalid
