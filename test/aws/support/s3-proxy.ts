/**
 * A pass-through in front of s3rver, so tests can slow S3 down or watch its
 * requests (a cancel that lands while the payload is being uploaded).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';

export class S3Proxy extends EventEmitter {
  /** Extra latency before forwarding, per HTTP method (e.g. PUT: 500). */
  readonly delayMs: Record<string, number> = {};
  readonly requests: Array<{ method: string; path: string }> = [];
  private server: http.Server | undefined;

  constructor(private readonly target: () => string) {
    super();
  }

  async listen(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const entry = { method: req.method ?? 'GET', path: req.url ?? '/' };
      this.requests.push(entry);
      this.emit('request', entry);
      const forward = () => {
        const url = new URL(req.url ?? '/', this.target());
        const out = http.request(url, { method: req.method, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        out.on('error', () => res.destroy());
        req.pipe(out);
      };
      const ms = this.delayMs[entry.method] ?? 0;
      if (ms) setTimeout(forward, ms);
      else forward();
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** PUTs of objects whose key ends with `suffix`. */
  puts(suffix: string): number {
    return this.requests.filter((r) => r.method === 'PUT' && r.path.split('?')[0].endsWith(suffix)).length;
  }
}
