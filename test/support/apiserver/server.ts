/**
 * The HTTP layer: routes kube-apiserver paths to the store, serves discovery, checks the bearer
 * token, injects faults and records every request.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parse as parseYaml } from 'yaml';
import {
  ApiError,
  badRequest,
  expired,
  internalError,
  methodNotAllowed,
  pathNotFound,
  serviceUnavailable,
  tooManyRequests,
  unauthorized,
} from './errors';
import { apiVersionOf, type ResourceRegistry, type ResourceType } from './resources';
import type { DeleteOptions, Store } from './store';
import { isObject, type Obj } from './util';

export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0' };

export interface Fault {
  /** Matches the HTTP method (any case); all methods when omitted. */
  method?: string;
  /** Matches the URL path (without the query string): substring or RegExp; all paths when omitted. */
  pathIncludes?: string | RegExp;
  /** Matches the query string (without `?`): substring; any query when omitted. */
  queryIncludes?: string;
  /** How many matching requests fail; later ones go through. */
  count: number;
  /** 410: the Expired answer to a LIST whose continue token is too old. */
  kind: 500 | 429 | 503 | 410 | 'timeout' | 'reset';
  retryAfterSeconds?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  contentType?: string;
  /** The HTTP status answered; 0 while pending or when no answer was sent (timeout/reset faults). */
  status: number;
}

interface Route {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** A cluster-wide list of a namespaced resource. */
  allNamespaces: boolean;
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update'];

export class ApiHttpServer {
  readonly requests: RequestRecord[] = [];
  /** TCP connections accepted (clients that keep connections alive open few). */
  connections = 0;
  private readonly faults: { fault: Fault; remaining: number }[] = [];
  private readonly held = new Set<Socket>();
  private readonly server: http.Server;
  url = '';

  constructor(
    private readonly store: Store,
    private readonly registry: ResourceRegistry,
    readonly token: string,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        const err = internalError(String(e));
        if (!res.headersSent) this.send(res, err.code, err.body);
      });
    });
    this.server.on('connection', () => { this.connections += 1; });
  }

  async listen(host = '127.0.0.1'): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://${host}:${port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.held) socket.destroy();
    this.held.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  injectFault(fault: Fault): void {
    this.faults.push({ fault, remaining: fault.count });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  // --- plumbing ---------------------------------------------------------------------------------

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const record = (res as http.ServerResponse & { record?: RequestRecord }).record;
    if (record) record.status = status;
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      ...headers,
    });
    res.end(`${JSON.stringify(body)}\n`);
  }

  private readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  private matchFault(method: string, path: string, query: string): Fault | undefined {
    for (const f of this.faults) {
      if (f.remaining <= 0) continue;
      if (f.fault.method && f.fault.method.toUpperCase() !== method) continue;
      const p = f.fault.pathIncludes;
      if (p !== undefined && !(typeof p === 'string' ? path.includes(p) : p.test(path))) continue;
      if (f.fault.queryIncludes !== undefined && !query.includes(f.fault.queryIncludes)) continue;
      f.remaining -= 1;
      return f.fault;
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RequestRecord = { method, path: url.pathname, query: url.search.replace(/^\?/, ''), status: 0 };
    if (req.headers['content-type']) record.contentType = req.headers['content-type'];
    this.requests.push(record);
    (res as http.ServerResponse & { record?: RequestRecord }).record = record;
    const body = await this.readBody(req);

    const fault = this.matchFault(method, url.pathname, record.query);
    if (fault) {
      switch (fault.kind) {
        case 'timeout':
          this.held.add(req.socket);
          req.socket.once('close', () => this.held.delete(req.socket));
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 500: {
          const e = internalError('injected fault');
          return this.send(res, e.code, e.body);
        }
        case 410: {
          const e = expired();
          return this.send(res, e.code, e.body);
        }
        case 503: {
          const e = serviceUnavailable('the server is currently unable to handle the request');
          return this.send(res, e.code, e.body);
        }
        case 429: {
          const e = tooManyRequests('Too many requests, please try again later.', fault.retryAfterSeconds ?? 1);
          return this.send(res, e.code, e.body, e.headers);
        }
      }
    }

    try {
      if (req.headers.authorization !== `Bearer ${this.token}`) throw unauthorized();
      const { status, body: out } = this.dispatch(method, url, body, req.headers['content-type'] ?? '');
      this.send(res, status, out);
    } catch (e) {
      if (e instanceof ApiError) this.send(res, e.code, e.body, e.headers);
      else {
        const err = internalError((e as Error).message);
        this.send(res, err.code, err.body);
      }
    }
  }

  // --- routing ----------------------------------------------------------------------------------

  private dispatch(method: string, url: URL, body: string, contentType: string): { status: number; body: unknown } {
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (method === 'GET') {
      const discovery = this.discovery(segs);
      if (discovery !== undefined) return { status: 200, body: discovery };
    }
    const route = this.route(segs);
    if (!route) throw pathNotFound();
    const q = url.searchParams;
    const dryRun = q.getAll('dryRun').includes('All');
    const { rt, namespace, name, subresource } = route;

    if (subresource !== undefined) {
      if (subresource !== 'status' || !rt.statusSubresource || !name) throw pathNotFound();
    }
    const writeOpts = { subresource: subresource as 'status' | undefined, dryRun };

    if (!name) {
      switch (method) {
        case 'GET':
          return { status: 200, body: this.list(route, q) };
        case 'POST':
          if (route.allNamespaces) throw methodNotAllowed();
          return { status: 201, body: this.store.create(rt, namespace, this.parseObject(body, contentType), writeOpts) };
        case 'DELETE':
          if (route.allNamespaces) throw methodNotAllowed();
          return { status: 200, body: this.deleteCollection(route, q, body) };
        default:
          throw methodNotAllowed();
      }
    }

    switch (method) {
      case 'GET':
        if (rt.group === '' && rt.kind === 'Namespace') this.store.ensureNamespace(name);
        return { status: 200, body: this.store.get(rt, namespace, name) };
      case 'PUT':
        return { status: 200, body: this.store.update(rt, namespace, name, this.parseObject(body, contentType), writeOpts) };
      case 'PATCH': {
        const force = q.get('force');
        const { code, object } = this.store.patch(rt, namespace, name, contentType, body, {
          ...writeOpts,
          fieldManager: q.get('fieldManager') ?? undefined,
          force: force === null ? undefined : force === 'true',
        });
        return { status: code, body: object };
      }
      case 'DELETE': {
        if (subresource) throw methodNotAllowed();
        const { code, body: out } = this.store.delete(rt, namespace, name, this.deleteOptions(q, body, dryRun));
        return { status: code, body: out };
      }
      default:
        throw methodNotAllowed();
    }
  }

  private route(segs: string[]): Route | undefined {
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 3) [group, version, rest] = ['', segs[1], segs.slice(2)];
    else if (segs[0] === 'apis' && segs.length >= 4) [group, version, rest] = [segs[1], segs[2], segs.slice(3)];
    else return undefined;

    const namespaced = rest[0] === 'namespaces' && rest.length >= 3 && this.registry.byPath(group, version, rest[2])?.namespaced;
    if (namespaced) {
      const rt = this.registry.byPath(group, version, rest[2])!;
      if (rest.length > 5) return undefined;
      return { rt, namespace: rest[1], name: rest[3], subresource: rest[4], allNamespaces: false };
    }
    const rt = this.registry.byPath(group, version, rest[0]);
    if (!rt || rest.length > 3) return undefined;
    if (rt.namespaced && rest.length > 1) return undefined;
    return { rt, name: rest[1], subresource: rest[2], allNamespaces: rt.namespaced };
  }

  private parseObject(body: string, contentType: string): Obj {
    const type = contentType.split(';')[0].trim().toLowerCase();
    let parsed: unknown;
    try {
      parsed = type === 'application/yaml' ? parseYaml(body) : JSON.parse(body);
    } catch (e) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
    if (!isObject(parsed)) throw badRequest("couldn't get version/kind; json parse error: the body is not a JSON object");
    return parsed;
  }

  private list(route: Route, q: URLSearchParams): Obj {
    if (q.get('watch') === 'true' || q.get('watch') === '1') {
      throw badRequest('watch is not supported by the test API server');
    }
    const { rt } = route;
    const limit = q.get('limit');
    const result = this.store.list(rt, route.allNamespaces ? undefined : route.namespace, {
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector: q.get('fieldSelector') ?? undefined,
      limit: limit ? Number(limit) : undefined,
      continue: q.get('continue') ?? undefined,
    });
    const metadata: Obj = { resourceVersion: result.resourceVersion };
    if (result.continue) {
      metadata.continue = result.continue;
      metadata.remainingItemCount = result.remainingItemCount;
    }
    // Typed lists of built-in kinds carry no apiVersion/kind per item; unstructured (custom) lists do.
    const items = rt.custom
      ? result.items
      : result.items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    return { kind: `${rt.kind}List`, apiVersion: apiVersionOf(rt), metadata, items };
  }

  private deleteOptions(q: URLSearchParams, body: string, dryRun: boolean): DeleteOptions {
    let opts: Obj = {};
    if (body.trim() !== '') {
      try {
        opts = JSON.parse(body);
      } catch (e) {
        throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
      }
      if (!isObject(opts)) throw badRequest('the DeleteOptions body is not a JSON object');
    }
    const grace = q.get('gracePeriodSeconds');
    const orphan = q.get('orphanDependents');
    return {
      propagationPolicy: opts.propagationPolicy ?? q.get('propagationPolicy') ?? undefined,
      orphanDependents: opts.orphanDependents ?? (orphan === null ? undefined : orphan === 'true'),
      gracePeriodSeconds: opts.gracePeriodSeconds ?? (grace === null ? undefined : Number(grace)),
      preconditions: opts.preconditions,
      dryRun: dryRun || (Array.isArray(opts.dryRun) && opts.dryRun.includes('All')),
    };
  }

  private deleteCollection(route: Route, q: URLSearchParams, body: string): Obj {
    const opts = this.deleteOptions(q, body, q.getAll('dryRun').includes('All'));
    const { items } = this.store.list(route.rt, route.namespace, {
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector: q.get('fieldSelector') ?? undefined,
    });
    const deleted = items.map((item) => {
      this.store.delete(route.rt, item.metadata.namespace, item.metadata.name, opts);
      const { kind: _k, apiVersion: _a, ...rest } = item;
      return route.rt.custom ? item : rest;
    });
    return { kind: `${route.rt.kind}List`, apiVersion: apiVersionOf(route.rt), metadata: {}, items: deleted };
  }

  // --- discovery --------------------------------------------------------------------------------

  private discovery(segs: string[]): unknown {
    const path = segs.join('/');
    if (path === 'version') {
      return {
        ...KUBERNETES_VERSION,
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2024-12-11T00:00:00Z',
        goVersion: 'go1.23.3',
        compiler: 'gc',
        platform: 'linux/amd64',
      };
    }
    if (path === 'api') {
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.url.replace(/^http:\/\//, '') }],
      };
    }
    const groupBody = (g: { group: string; versions: string[] }) => {
      const versions = g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v }));
      return { name: g.group, versions, preferredVersion: versions[0] };
    };
    if (path === 'apis') {
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: this.registry.groups().map(groupBody) };
    }
    if (segs[0] === 'apis' && segs.length === 2) {
      const g = this.registry.groups().find((x) => x.group === segs[1]);
      return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupBody(g) } : undefined;
    }
    const gv = segs[0] === 'api' && segs.length === 2 ? ['', segs[1]] : segs[0] === 'apis' && segs.length === 3 ? [segs[1], segs[2]] : undefined;
    if (!gv) return undefined;
    const types = this.registry.inGroupVersion(gv[0], gv[1]);
    if (types.length === 0) return undefined;
    const resources: Obj[] = [];
    for (const t of types) {
      const r: Obj = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: VERBS };
      if (t.shortNames) r.shortNames = t.shortNames;
      resources.push(r);
      if (t.statusSubresource) {
        resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
      }
    }
    const list: Obj = { kind: 'APIResourceList' };
    if (gv[0]) list.apiVersion = 'v1';
    list.groupVersion = gv[0] ? `${gv[0]}/${gv[1]}` : gv[1];
    list.resources = resources;
    return list;
  }
}
