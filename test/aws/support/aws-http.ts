/**
 * The HTTP side of the local AWS service: JSON requests in, AWS restJson1
 * responses out, typed errors as AWS sends them (status code, the
 * `x-amzn-ErrorType` header and a `{ message }` body), and the knobs every
 * operation shares: call counting, throttling, outages and latency.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Route {
  method: string;
  /** Path pattern; `{name}` captures one (percent-encoded) segment. */
  path: string;
  /** Operation name, as counted and as knobs name it, e.g. `SubmitJob`. */
  op: string;
  handle: (body: any, params: Record<string, string>) => unknown | Promise<unknown>;
  status?: number;
}

export interface HttpKnobs {
  /** The next N calls of an operation (or of every operation, key `*`) get HTTP 429. */
  throttle: Record<string, number>;
  /** While true, every connection is dropped without an answer (the service is unreachable). */
  outage: boolean;
  /** Extra latency per operation in ms (e.g. a slow SubmitJob for the submit/handle race). */
  delayMs: Record<string, number>;
}

export interface CallRecord {
  op: string;
  at: number;
  /** Access key id the request was signed with (from the SigV4 Authorization header). */
  accessKeyId: string | null;
  throttled: boolean;
}

export class AwsHttpServer {
  readonly knobs: HttpKnobs = { throttle: {}, outage: false, delayMs: {} };
  readonly calls: CallRecord[] = [];
  private readonly routes: Array<Route & { re: RegExp; names: string[] }> = [];
  private server: http.Server | undefined;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(private readonly throttleType: (op: string) => string) {}

  add(route: Route): void {
    const names: string[] = [];
    const re = new RegExp(`^${route.path.replace(/\{(\w+)\}/g, (_, n) => (names.push(n), '([^/]+)'))}$`);
    this.routes.push({ ...route, re, names });
  }

  /** How many calls of `op` (all operations when omitted) were made, throttled ones included. */
  count(op?: string): number {
    return op ? this.calls.filter((c) => c.op === op).length : this.calls.length;
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  async listen(): Promise<string> {
    this.server = http.createServer((req, res) => void this.serve(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.knobs.outage) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://local');
    const found = this.match(req.method ?? 'GET', url.pathname);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body ?? {});
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    const error = (e: AwsError) => send(e.status, { message: e.message }, { 'x-amzn-errortype': e.type });
    if (!found) return error(new AwsError(404, 'UnknownOperationException', `No operation ${req.method} ${url.pathname}`));
    const { route, params } = found;
    const auth = String(req.headers.authorization ?? '');
    const record: CallRecord = { op: route.op, at: Date.now(), accessKeyId: /Credential=([^/]+)\//.exec(auth)?.[1] ?? null, throttled: false };
    this.calls.push(record);
    const delay = this.knobs.delayMs[route.op] ?? 0;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (this.knobs.outage) {
      req.socket.destroy();
      return;
    }
    for (const key of [route.op, '*']) {
      if ((this.knobs.throttle[key] ?? 0) > 0) {
        this.knobs.throttle[key]--;
        record.throttled = true;
        return error(new AwsError(429, this.throttleType(route.op), 'Too Many Requests'));
      }
    }
    if (!auth.startsWith('AWS4-HMAC-SHA256 ')) return error(new AwsError(403, 'UnrecognizedClientException', 'The request is not signed.'));
    let body: unknown = {};
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    } catch {
      return error(new AwsError(400, 'SerializationException', 'The body is not JSON.'));
    }
    try {
      const out = await route.handle(body, params);
      send(route.status ?? 200, out);
    } catch (e) {
      if (e instanceof AwsError) error(e);
      else error(new AwsError(500, 'InternalServerException', String((e as Error)?.stack ?? e)));
    }
  }

  private match(method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.re.exec(pathname);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
      return { route: r, params };
    }
    return undefined;
  }
}
