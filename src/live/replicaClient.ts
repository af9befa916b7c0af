import { Agent, request } from 'node:http';

/** An HTTP answer read whole. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * HTTP to one model-server replica over keep-alive connections (no TCP handshake per request).
 * Plain `http:` only: replicas run on this machine, bound to 127.0.0.1.
 */
export class ReplicaClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(baseUrl: string, maxSockets: number) {
    this.url = new URL(baseUrl);
    if (this.url.protocol !== 'http:') throw new Error(`replica baseUrl must be an http:// URL, got ${JSON.stringify(baseUrl)}`);
    this.agent = new Agent({ keepAlive: true, maxSockets: Math.max(1, maxSockets), keepAliveMsecs: 10_000 });
  }

  get(path: string, timeoutMs: number): Promise<HttpAnswer> {
    return this.send('GET', path, undefined, timeoutMs);
  }

  postJson(path: string, body: string, timeoutMs: number): Promise<HttpAnswer> {
    return this.send('POST', path, body, timeoutMs);
  }

  /** Closes the connections; call it once no request to the replica is running. */
  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, body: string | undefined, timeoutMs: number): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method,
          path: `${this.url.pathname.replace(/\/+$/, '')}${path}`,
          headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${this.url.origin}${path} took over ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}
