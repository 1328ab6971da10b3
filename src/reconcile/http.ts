import { Observable, ResponseContext, type HttpLibrary, type RequestContext } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';

/**
 * The HTTP transport under the generated client: Node's own http/https modules over
 * keep-alive connections, one pool per kubeconfig.
 *
 * Why not client-node's default (node-fetch 2): its authentication step builds a new
 * `https.Agent` for every request, so every request opens its own TCP connection and TLS
 * handshake, most of what a request costs against a real apiserver. And node-fetch 2 cannot
 * simply be given a keep-alive agent: with reused sockets it reports "Premature close" for
 * chunked answers that ended cleanly (a socket handed to the next request already has a
 * data listener when the previous answer's close event runs). So the requests go through
 * `http.request` with one keep-alive agent, copied once from the agent client-node built
 * (same CA, client certificate and key). The authentication headers are still set by
 * client-node on every request; proxy agents (`proxy-url`) are used as they are.
 */
export class ConnectionPool implements HttpLibrary {
  private readonly agents = new Map<Function, http.Agent>();

  constructor(
    private readonly maxSockets = 16,
    /** An answer larger than this is refused (a LIST page is far smaller). */
    private readonly maxResponseBytes = 64 * 1024 * 1024,
  ) {}

  /** The pooled keep-alive agent to use instead of the one client-node built for this request. */
  reuse(built: unknown): unknown {
    const kind = built?.constructor;
    if (kind !== https.Agent && kind !== http.Agent) return built;
    let agent = this.agents.get(kind);
    if (!agent) {
      const options = (built as http.Agent & { options: http.AgentOptions }).options;
      agent = new (kind as typeof http.Agent)({ ...options, keepAlive: true, maxSockets: this.maxSockets, maxFreeSockets: this.maxSockets });
      this.agents.set(kind, agent);
    }
    return agent;
  }

  send(request: RequestContext): Observable<ResponseContext> {
    return new Observable(this.request(request));
  }

  /** Close the idle connections (they never keep the process alive: Node unrefs free sockets). */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private request(request: RequestContext): Promise<ResponseContext> {
    const url = new URL(request.getUrl());
    const body = request.getBody();
    if (body !== undefined && typeof body !== 'string') return Promise.reject(new Error('internal: only JSON text bodies are sent'));
    const headers: Record<string, string | number> = { ...request.getHeaders() };
    if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, {
        method: request.getHttpMethod(),
        headers,
        agent: this.reuse(request.getAgent()) as http.Agent | undefined,
        signal: request.getSignal(),
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxResponseBytes) {
            req.destroy(new Error(`answer larger than ${this.maxResponseBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          if (!res.complete) {
            reject(Object.assign(new Error('socket hang up: the answer was cut short'), { code: 'ECONNRESET' }));
            return;
          }
          const data = Buffer.concat(chunks);
          const answerHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) answerHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve(new ResponseContext(res.statusCode ?? 0, answerHeaders, {
            text: async () => data.toString('utf8'),
            binary: async () => data,
          }));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}
