/**
 * Test harness: run the pods of a failover StatefulSet as real processes (init containers,
 * redis-server, redis-sentinel, the preStop hook), each pod in its own Linux network
 * namespace, so the rendered scripts run unmodified on their real ports and names.
 *
 * ## The network (network.ts)
 * One namespace per pod (`rgt-<pid>-<n>-<pod>`), an `eth0` veth into a bridge in a namespace
 * of its own, one more veth from the bridge to the test process (ioredis reaches every pod
 * IP). `/etc/netns/<ns>/hosts`, which `ip netns exec` mounts over /etc/hosts, maps every pod's
 * stable DNS name `<pod>.<service>.<namespace>.svc` to its current IP; `start({ newIp: true })`
 * gives a recreated pod a new IP, as Kubernetes may. Needs root (`ip netns`).
 * Clean-up: `cleanupClusters()` in afterEach kills every process in each namespace and
 * deletes the namespaces and hosts files; a process 'exit' hook does the same; the first
 * cluster of a run sweeps the `rgt-<pid>-*` namespaces of test processes that are gone.
 *
 * ## The pod (pod.ts): what the kubelet would do
 * `start()`: a new incarnation (fresh emptyDirs: Sentinel state is gone, the
 * PersistentVolume kept), every init container in order, then every container, each as
 * `ip netns exec <ns> <command + args>` with its env resolved as the kubelet does (fieldRefs
 * POD_NAME/POD_NAMESPACE, literal values, Secret keys from `secrets`). `kill()` is kill -9 of
 * every process in the namespace; `stop()` runs the redis container's exec preStop (bounded
 * by terminationGracePeriodSeconds) while the other containers get SIGTERM at once, then
 * SIGTERMs redis. `wipeData()` empties the PersistentVolume.
 *
 * ## The seam (seam.ts): only paths
 * In its namespace a pod keeps ports 6379/26379, `bind 0.0.0.0` and its DNS names. What
 * differs: /data, /run/redis, /run/sentinel and /usr/local/etc/redis are folders under
 * os.tmpdir(), so
 * - redis.conf's `dir /data` and `include /run/redis/runtime.conf` point at them;
 * - the env vars RUNTIME_CONF, DATA_DIR and SENTINEL_DIR (container paths the scripts
 *   honour) are mapped to them, each through the container's own mounts (a path on no
 *   mount throws); the `config` init container gets RUNTIME_CONF, as in test/support/redis;
 * - absolute paths in a command's argv (`sh /usr/local/etc/redis/ha-init.sh`, the preStop's
 *   `/run/redis/ha.env`) are mapped through the container's mounts;
 * - with spec.tls, the certificate paths in redis.conf (`tls-cert-file`, `tls-key-file`,
 *   `tls-ca-cert-file`; Sentinel copies them from there) and in REDIS_CLI_TLS_FLAGS, the
 *   same way; ports and `tls-port` stay;
 * - PATH starts with a per-pod bin folder linking redis-server, redis-cli (the binaries
 *   under test, $REDIS_SERVER/$REDIS_CLI apply) and Debian's redis-sentinel; with
 *   `shell: 'busybox'`, `sh` and the programs the scripts run are busybox, as in the Alpine
 *   images. Processes run as root, not UID 999; the image is not pulled.
 *
 * ## The source (source.ts)
 * `failoverPodSource(instance)` takes the StatefulSet and ConfigMap renderInstance makes,
 * less the role agent (the redis-gitops image, which talks to the Kubernetes API: tested
 * against the test API server in test/role-agent), the config agent (live changes: run by
 * test/support/redis) and the volumes only they mount. `{ roleAgent: true }` keeps the role
 * agent; it works for instances without failover too (`testInstance`), and
 * `start({ source })` recreates a pod from another template (a rolling update), same claim.
 *
 * ## The Kubernetes side (kube.ts, service.ts)
 * `connectPodApi(cluster)` (before the pods start) runs a test API server on the host end of
 * the pod network, so the pods' namespaces reach it, with a Pod object per pod (template
 * labels plus `statefulset.kubernetes.io/pod-name`) and `<name>-primary`. The `role-agent`
 * container then runs as this checkout's `redis-gitops role-agent` (tsx) in the pod's
 * namespace with its rendered args and env, plus `--kubeconfig` for that server in place of
 * the projected service account token (the seam for that container; the image is not
 * pulled). Readiness is the pod's processes running (the readiness probe's period is not
 * modelled). `ServiceClient` writes as kube-proxy routes: each new connection to one of the
 * Ready pods the Service selects, kept until it fails.
 *
 * ## Clients and checks (cluster.ts, workload.ts)
 * `sentinelClient()` is an ioredis Sentinel client (natMap turns the announced DNS names into
 * pod IPs; with spec.tls it speaks TLS to Sentinel and Redis, presenting the pods' certificate
 * from the TLS Secret given in `secrets`, as `direct()` and the start-up PINGs do); `settled()` waits for one primary, every replica linked, and every Sentinel
 * naming it and knowing every node; `startWriter()` writes with `WAIT 1` and counts
 * acknowledged and failed writes and the longest gap.
 */
export * from './network';
export * from './pod';
export * from './seam';
export * from './source';
export * from './cluster';
export * from './workload';
export * from './kube';
export * from './service';
