import { RedisReplyError, parseInfo, sendCommand, type RedisTarget, type RespValue } from './resp';

/**
 * The role agent's answer to a failover request (the reconciler moves the primary before a
 * scale-down or before failover is turned off; docs/failover.md): the preStop's hand-over
 * (src/pod/ha-pre-stop.sh) from a primary that keeps running. A bare `SENTINEL FAILOVER`
 * loses acknowledged writes: the old primary keeps taking writes until Sentinel demotes it,
 * and a replica that Sentinel has not reconfigured yet still confirms them (`WAIT`) before it
 * resyncs from the new primary; the failover tests lost thousands of `WAIT 1` writes that
 * way. So, on the local Redis:
 * 1. `CLIENT PAUSE <budget> WRITE`: writes wait, none is refused; replication goes on;
 * 2. until every replica INFO replication lists reports (its own INFO) this node as its
 *    primary at this node's `master_repl_offset` (after 2 s one is enough), so whichever
 *    replica Sentinel picks has every write;
 * 3. `SENTINEL FAILOVER <instance>` on the pod's Sentinel;
 * 4. until that Sentinel names another primary; then `CLIENT KILL TYPE normal`, so clients
 *    reconnect (to the new primary) at once, and a new `CLIENT PAUSE <budget> WRITE`: a
 *    write taken here before Sentinel demotes this node (seconds later) would be lost.
 * If the replicas do not catch up or Sentinel refuses, writes resume at once (`CLIENT
 * UNPAUSE`) and the request is answered with the reason; the reconciler asks again later.
 *
 * With `below` (the failover-below annotation), only a replica whose ordinal is below it may
 * take over. Sentinel picks the replica with the lowest `replica-priority`, then the highest
 * offset, then the lowest run ID; after step 2 the offsets are equal, so without steering
 * the run IDs would decide, the same way on every request. So before step 1, when some
 * replica is not allowed, the allowed ones get `replica-priority 1` (those at 0, never to be
 * promoted, stay at 0), the agent waits until its Sentinel has seen that (Sentinel reads a
 * replica's INFO every 10 s), and puts the old values back once the failover is over or
 * failed. The catch-up of step 2 then counts the allowed replicas only.
 */

export interface HandOverOptions {
  readonly redis: RedisTarget;
  readonly sentinel: RedisTarget;
  readonly instance: string;
  /** How Sentinel names this node. */
  readonly self: { readonly host: string; readonly port: number };
  /** Sends a Sentinel command (the agent's: the password only if Sentinel asks for one). */
  readonly sentinelCommand: (command: string[]) => Promise<RespValue>;
  /** Pause budget, and the bound of the whole hand-over. @default 20000 */
  readonly budgetMs?: number;
  /** Only a replica with an ordinal below this may take over. */
  readonly below?: number;
  /** The ordinal of a replica's host name (`<instance>-<n>....`), -1 when it has none. */
  readonly ordinalOf?: (host: string) => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** `host:port` is this node (a name may carry the cluster domain after Sentinel's). */
const sameNode = (host: string, port: unknown, self: { host: string; port: number }) => Number(port) === self.port
  && (host.toLowerCase() === self.host.toLowerCase() || host.toLowerCase().startsWith(`${self.host.toLowerCase()}.`));

/** The replicas `INFO replication` of a primary lists (`slaveN:ip=...,port=...`), as host and port. */
export function listedReplicas(info: Record<string, string>): Array<{ host: string; port: number }> {
  return Object.entries(info).filter(([k]) => /^slave\d+$/.test(k)).map(([, v]) => {
    const fields = Object.fromEntries(v.split(',').map((kv) => kv.split('=') as [string, string]));
    return { host: fields.ip, port: Number(fields.port) };
  }).filter((r) => r.host && Number.isInteger(r.port));
}

/** Returns what happened, for the agent's log (`OK ...` when the primary moved). */
export async function handOver(options: HandOverOptions): Promise<string> {
  const budgetMs = options.budgetMs ?? 20_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const local = (command: string[]) => sendCommand(options.redis, command);
  const started = Date.now();
  const left = () => budgetMs - (Date.now() - started);

  const before = parseInfo(String(await local(['INFO', 'replication'])));
  if (before.role !== 'master') return 'not the primary';
  const listed = listedReplicas(before);
  const allowed = options.below === undefined ? listed : listed.filter((r) => {
    const ordinal = options.ordinalOf?.(r.host) ?? -1;
    return ordinal >= 0 && ordinal < options.below!;
  });
  if (allowed.length === 0) return options.below === undefined ? 'no replica to hand over to' : `no replica with an ordinal below ${options.below} to hand over to`;
  const steered = allowed.length < listed.length ? await steer(options, allowed, sleep, left) : [];
  try {
    return await pausedHandOver(options, allowed, budgetMs, sleep);
  } finally {
    for (const { replica, priority } of steered) {
      await sendCommand({ ...options.redis, host: replica.host, port: replica.port }, ['CONFIG', 'SET', 'replica-priority', priority]).catch(() => undefined);
    }
  }
}

type Replica = { readonly host: string; readonly port: number };

/**
 * Give the allowed replicas `replica-priority 1` and wait (within the budget) until this
 * pod's Sentinel reports it; returns the values to put back.
 */
async function steer(options: HandOverOptions, allowed: readonly Replica[], sleep: (ms: number) => Promise<void>, left: () => number) {
  const steered: Array<{ replica: Replica; priority: string }> = [];
  for (const replica of allowed) {
    const target = { ...options.redis, host: replica.host, port: replica.port };
    const reply = await sendCommand(target, ['CONFIG', 'GET', 'replica-priority']).catch(() => undefined);
    const priority = Array.isArray(reply) ? String(reply[1]) : undefined;
    if (priority === undefined || priority === '0' || priority === '1') continue;
    if (await sendCommand(target, ['CONFIG', 'SET', 'replica-priority', '1']).catch(() => undefined) === 'OK') steered.push({ replica, priority });
  }
  const seen = async () => {
    const rows = await options.sentinelCommand(['SENTINEL', 'REPLICAS', options.instance]).catch(() => undefined);
    if (!Array.isArray(rows)) return false;
    const fields = rows.filter(Array.isArray).map((row) => {
      const r = (row as RespValue[]).map(String);
      return Object.fromEntries(r.flatMap((v, i) => (i % 2 === 0 ? [[v, r[i + 1]]] : [])));
    });
    return steered.every(({ replica }) => fields.some((f) => f.ip === replica.host && Number(f.port) === replica.port && f['slave-priority'] === '1'));
  };
  while (steered.length > 0 && !(await seen()) && left() > 0) await sleep(200);
  return steered;
}

/** Steps 1 to 4, within `budgetMs` from the pause. */
async function pausedHandOver(options: HandOverOptions, replicas: readonly Replica[], budgetMs: number, sleep: (ms: number) => Promise<void>): Promise<string> {
  const local = (command: string[]) => sendCommand(options.redis, command);
  const started = Date.now();
  const left = () => budgetMs - (Date.now() - started);
  await local(['CLIENT', 'PAUSE', String(budgetMs), 'WRITE']);
  const resume = async (why: string) => {
    await local(['CLIENT', 'UNPAUSE']).catch(() => undefined);
    return `${why}; writes resumed`;
  };
  try {
    const target = Number(parseInfo(String(await local(['INFO', 'replication']))).master_repl_offset);
    for (;;) {
      let synced = 0;
      for (const r of replicas) {
        const info = await sendCommand({ ...options.redis, host: r.host, port: r.port }, ['INFO', 'replication']).then((t) => parseInfo(String(t))).catch(() => undefined);
        if (info && sameNode(info.master_host ?? '', info.master_port, options.self) && Number(info.slave_repl_offset) >= target) synced += 1;
      }
      if (synced >= replicas.length || (synced >= 1 && Date.now() - started >= 2_000)) break;
      if (left() <= 0) return await resume(`no replica caught up within ${budgetMs} ms`);
      await sleep(100);
    }
    let reply: string;
    try {
      reply = String(await options.sentinelCommand(['SENTINEL', 'FAILOVER', options.instance]));
    } catch (error) {
      return await resume(`Sentinel refused: ${error instanceof RedisReplyError ? error.message : String(error)}`);
    }
    if (reply !== 'OK') return await resume(`Sentinel answered ${reply}`);
    for (;;) {
      const named = await options.sentinelCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', options.instance]).catch(() => undefined);
      if (Array.isArray(named) && named.length === 2 && !sameNode(String(named[0]), named[1], options.self)) {
        await local(['CLIENT', 'KILL', 'TYPE', 'normal']).catch(() => undefined);
        await local(['CLIENT', 'PAUSE', String(budgetMs), 'WRITE']).catch(() => undefined);
        return `OK: ${named[0]} is the primary now`;
      }
      // Writes stay paused: the failover may still complete, and a write taken now could be lost.
      if (left() <= 0) return 'OK, but Sentinel named no new primary in time; writes stay paused until the pause ends';
      await sleep(100);
    }
  } catch (error) {
    return await resume(`the local Redis failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
