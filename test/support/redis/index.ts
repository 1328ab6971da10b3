/**
 * Test harness: run the Redis pods that redis-gitops renders, with a real redis-server, on
 * this machine.
 *
 * ## The seam
 * The tests run the exact bytes and commands the construct renders (renderInstance, or the
 * dist/ files `synthesize` writes). `startRedisPod({ statefulSet, configMap }, ordinal,
 * options)` does what the kubelet does for pod `<statefulset>-<ordinal>` and returns a
 * RedisPod handle (`port`, `pid`, `dataDir`, `stop(signal = 'SIGTERM')`, `runProbe(kind)`, ...):
 *
 * 1. Volumes: a temp folder per volume; the ConfigMap volume gets each `data` key as a file
 *    and a Secret volume each of its `items` (from the `secrets` option), both laid out as
 *    the kubelet's AtomicWriter does (`<file> -> ..data/<file>`, `..data -> ..<timestamp>`;
 *    `projectVolume`), emptyDirs start empty, the data claim is a folder that outlives the
 *    process (pass `dataDir` to restart a pod on the same "PersistentVolume"). Every
 *    container path the pod uses must lie on one of its volume mounts, or the harness throws.
 *    The role-agent container of a failover instance is not run (it talks to the Kubernetes
 *    API; its own tests run it against the test API server), so the volumes only it mounts
 *    are skipped.
 *    `pod.updateConfigMap(cm)` and `pod.updateSecrets(secrets)` do what the kubelet does on
 *    a change: project the new files and swap `..data` with one rename.
 * 2. Init containers, in order: their `command` + `args` verbatim (`sh -c <script>`) with
 *    the env the StatefulSet gives them, resolved like the kubelet does
 *    (POD_NAME=<statefulset>-<ordinal> from the fieldRef, literal values, Secret keys from
 *    the `secrets` option). A non-zero exit throws InitContainerError.
 * 3. The redis container's command (`redis-server <config path>`) with its env (with auth,
 *    REDIS_PASSWORD_FILE: the path of the Secret volume's file), then wait until it answers
 *    PING, then its exec postStart hook if it has one.
 * 3b. The pod's other containers (the config agent), once redis serves: their command
 *    (`sh /usr/local/etc/redis/config-agent.sh`, the path mapped like any path on a mount)
 *    with their env; `pod.sidecars[name]` gives their pid, argv, env and output. `stop()`
 *    stops them too.
 * 4. `runProbe('readiness' | 'liveness')` runs the rendered exec command (`sh -c ...`) with
 *    the redis container's env, and its timeoutSeconds.
 * 5. `stop()` runs the exec preStop hook if there is one, then sends SIGTERM, as the kubelet
 *    does (SIGKILL after 10 s instead of terminationGracePeriodSeconds).
 * 6. `startSidecar(name)` starts another container of the pod (the exporter `metrics`) with
 *    its rendered command and env (Secret keys from `secrets`, or the call's own `secrets`
 *    to try a wrong password), and waits until its HTTP port answers `/health`;
 *    `get(path)` scrapes it.
 *
 * The only differences from a pod, each done by a small function in seam.ts that changes
 * exactly what it names and throws if it is not there:
 * - Data directory: the line `dir /data` (the data volume's mount path) → the temp data
 *   folder.
 * - Port: the line `port 6379` (the container port named `redis`) → a free port, and
 *   `-p 6379` in each probe and hook command → that port. With TLS (the line
 *   `tls-port 6379`): that line → the free port instead, `port 0` stays, a migration's
 *   `port 6380` → a second free port (`plainPort`); the `tls-cert-file`, `tls-key-file`
 *   and `tls-ca-cert-file` paths, and redis-cli's `--cacert`/`--cert`/`--key` paths in
 *   probes, map like any path on a mount (the Secret volume). The harness waits for PONG
 *   over TLS then, with the Secret's CA (chain checked, not the host name, as redis-cli does),
 *   and gives the PEM files to the test as `tls`.
 * - Listening address: the line `bind 0.0.0.0` → `bind 127.0.0.1`, so that a test server
 *   (protected-mode off, often without a password) is not reachable from the network.
 * - Config, runtime and data paths: paths on volume mounts map to the volume folders: the
 *   container command's `/usr/local/etc/redis/redis.conf`, the line
 *   `include /run/redis/runtime.conf`, the init script's output through the RUNTIME_CONF
 *   env var (which the script honours; it is the only env var the harness adds, besides
 *   PATH, HOME and HOSTNAME which every container has), and the init container's DATA_DIR
 *   (rendered with AOF on, for the RDB-to-AOF migration), which must be the data volume's
 *   mount path and becomes the data folder.
 * - Paths and the port in env: REDIS_PASSWORD_FILE, AGENT_STATUS and a rendered RUNTIME_CONF
 *   must lie on a mount of their container and map to the host; a sidecar's REDIS_PORT must
 *   be the container port and becomes the pod's port (`remapPathEnv`).
 * - Cluster DNS: the init container's PRIMARY_HOST must be pod 0's stable name
 *   `<statefulset>-0.<serviceName>.<namespace>.svc` and resolves to 127.0.0.1;
 *   PRIMARY_PORT must be the container port and becomes pod 0's port here.
 * - Sidecars (remapImageCommand, remapExporterEnv): the exporter image's entrypoint
 *   `/redis_exporter` runs Debian's `prometheus-redis-exporter` ($REDIS_EXPORTER, else on
 *   PATH); its REDIS_ADDR must be `redis[s]://localhost:<container port>` and points at
 *   the pod's port, REDIS_EXPORTER_WEB_LISTEN_ADDRESS must be `:<its container port>` and
 *   becomes `127.0.0.1:<free port>`, and REDIS_EXPORTER_TLS_*_FILE paths map like any
 *   path on a mount. Nothing else in its env changes.
 * - Working directory: a container's `workingDir` maps like any path on a mount; without
 *   one, redis runs in the data folder (the official images' WORKDIR is /data).
 * - Binaries: PATH starts with a per-pod bin folder where `redis-server` and `redis-cli`
 *   link to $REDIS_SERVER / $REDIS_CLI (default: the ones on PATH), so the rendered
 *   commands run unchanged. `sh` is the machine's /bin/sh (dash on Debian; the images use
 *   dash or busybox ash; `shell: 'busybox'` runs every `sh` command and the programs the
 *   scripts name with busybox, as in the Alpine images). The processes run as the test's
 *   user, not UID 999. The image is not pulled: this machine's Redis stands in for the one
 *   in `image` (check the version with `redisBinaries().version`).
 * With `recordExecs`, every program the init script, the sidecars' scripts (from the
 * ConfigMap) and the probes exec is a wrapper that
 * logs its own and its parent's /proc/<pid>/cmdline before exec'ing the real one, so the
 * tests can check that no argument list ever holds the password.
 *
 * Failover instances run here as pod-0-primary pods: the start-up init container, Sentinel,
 * the role agent and the preStop failover are left out (test/support/netns runs them).
 *
 * Servers listen on 127.0.0.1 only; everything lives under os.tmpdir(). Call
 * `cleanupRedisPods()` in afterEach: it closes clients, kills servers and removes folders
 * (a process 'exit' hook SIGKILLs whatever is left). Without redis-server or redis-cli,
 * `redisBinaries()` throws with the apt-get line that installs them: the tests fail, they do
 * not skip.
 */
export * from './binaries';
export * from './seam';
export * from './pod';
export * from './client';
export * from './examples';
export { rewriteConfLines, quoteConfArg } from '../../../src/redis-conf/verify';
