import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireProgram } from '../programs';

/**
 * A pod network made of Linux network namespaces: one namespace per pod, each with an
 * `eth0` veth whose other end is in a bridge that lives in a namespace of its own; one
 * more veth joins the bridge to the test process's namespace, so the tests (ioredis) reach
 * every pod IP. Cluster DNS is `/etc/netns/<pod ns>/hosts`, which `ip netns exec` mounts
 * over /etc/hosts: every pod resolves every pod's stable DNS name to its current IP.
 *
 * Names: every namespace is `rgt-<pid>-<n>-...` (the test process's pid, a counter), so
 * runs never collide; a network is destroyed by `destroy()` (call it in afterEach), by a
 * process 'exit' hook, and `sweepStaleNamespaces()` removes those of dead test processes.
 */

const PREFIX = 'rgt-';
const live = new Set<PodNetwork>();
let counter = 0;

process.on('exit', () => {
  for (const network of live) network.destroy();
});

function ip(...args: string[]): string {
  return execFileSync(requireProgram('ip', '/usr/sbin:/usr/bin:/sbin:/bin'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function deleteNamespace(ns: string): void {
  // Processes keep a namespace alive after `ip netns del`: end them first.
  try {
    for (const pid of ip('netns', 'pids', ns).split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
  } catch { /* no such namespace */ }
  try { ip('netns', 'del', ns); } catch { /* already gone */ }
  rmSync(join('/etc/netns', ns), { recursive: true, force: true });
}

/** Remove the `rgt-<pid>-*` namespaces (and their hosts files) of test processes that are gone. */
export function sweepStaleNamespaces(): string[] {
  const removed: string[] = [];
  const names = ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(PREFIX));
  const dirs = existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(PREFIX)) : [];
  for (const ns of new Set([...names, ...dirs])) {
    const pid = Number(ns.slice(PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
      deleteNamespace(ns);
      removed.push(ns);
    }
  }
  return removed;
}

/** A subnet 10.a.b.0/24 that no route on this machine uses yet. */
function freeSubnet(): string {
  const routes = ip('-4', 'route', 'show');
  for (let i = 0; i < 4096; i++) {
    const n = (process.pid * 7 + counter * 131 + i) % (100 * 256);
    const subnet = `10.${100 + Math.floor(n / 256)}.${n % 256}`;
    if (!routes.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.x.y.0/24 subnet for the pod network');
}

export interface PodAddress {
  /** The pod's network namespace. */
  readonly ns: string;
  /** Stable DNS name, `<pod>.<service>.<namespace>.svc`. */
  readonly dnsName: string;
  /** Current IP (a restarted pod may get a new one). */
  ip: string;
}

export class PodNetwork {
  readonly prefix: string;
  readonly bridgeNs: string;
  /** `10.a.b`: pods get `.10` and up, the test process `.1`. */
  readonly subnet: string;
  readonly hostIp: string;
  private readonly hostVeth: string;
  private readonly pods = new Map<string, PodAddress>();
  private nextHost = 10;
  private destroyed = false;

  constructor() {
    counter += 1;
    this.prefix = `${PREFIX}${process.pid}-${counter}-`;
    this.bridgeNs = `${this.prefix}br`;
    this.subnet = freeSubnet();
    this.hostIp = `${this.subnet}.1`;
    this.hostVeth = `rg${process.pid % 1_000_000}x${counter % 1000}`;
    live.add(this);
    ip('netns', 'add', this.bridgeNs);
    ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up');
    ip('link', 'add', this.hostVeth, 'type', 'veth', 'peer', 'name', 'host', 'netns', this.bridgeNs);
    ip('-n', this.bridgeNs, 'link', 'set', 'host', 'master', 'br0', 'up');
    ip('addr', 'add', `${this.hostIp}/24`, 'dev', this.hostVeth);
    ip('link', 'set', this.hostVeth, 'up');
  }

  /** A namespace for pod `podName` with its own eth0 on the bridge and loopback up. */
  addPod(podName: string, dnsName: string): PodAddress {
    const ns = `${this.prefix}${podName}`.slice(0, 60);
    ip('netns', 'add', ns);
    const port = `p${this.pods.size}`;
    ip('-n', this.bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', this.bridgeNs, 'link', 'set', port, 'master', 'br0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    const pod: PodAddress = { ns, dnsName, ip: '' };
    this.pods.set(ns, pod);
    this.assignIp(pod);
    return pod;
  }

  /** Give the pod a new IP, as a recreated pod gets, and update every hosts file. */
  assignIp(pod: PodAddress): void {
    if (pod.ip) ip('-n', pod.ns, 'addr', 'del', `${pod.ip}/24`, 'dev', 'eth0');
    pod.ip = `${this.subnet}.${this.nextHost++}`;
    if (this.nextHost > 250) throw new Error('pod network ran out of addresses');
    ip('-n', pod.ns, 'addr', 'add', `${pod.ip}/24`, 'dev', 'eth0');
    this.writeHosts();
  }

  /** Rewrite every pod's hosts file in place (running processes see the bind-mounted file's new content). */
  private writeHosts(): void {
    const lines = ['127.0.0.1 localhost', ...[...this.pods.values()].filter((p) => p.ip).map((p) => `${p.ip} ${p.dnsName}`), ''];
    for (const pod of this.pods.values()) {
      const dir = join('/etc/netns', pod.ns);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'hosts'), lines.join('\n'));
    }
  }

  /** The IP for a stable DNS name (what the tests' natMap uses), or undefined. */
  ipOf(dnsName: string): string | undefined {
    return [...this.pods.values()].find((p) => p.dnsName === dnsName)?.ip;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const ns of this.pods.keys()) deleteNamespace(ns);
    deleteNamespace(this.bridgeNs);
    try { ip('link', 'del', this.hostVeth); } catch { /* went with the bridge namespace */ }
  }
}
