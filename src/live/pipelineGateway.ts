import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../common/log.js';
import type { InferenceTensor, ModelMetadata, TensorMetadata } from '../profiling/inferenceEndpoint.js';
import { GatewayMetrics, type Outcome, type StageSnapshot } from './gatewayMetrics.js';
import { ReplicaClient } from './replicaClient.js';
import { DroppedError, type QueueReplica, StageQueue } from './stageQueue.js';
import { BadRequestError, chainTensors, outputsOf, parseInferenceRequest } from './tensorChaining.js';

/** A replica of a stage: an OIP v2 server and the model it serves there. */
export interface ReplicaEndpoint {
  /** Server root, e.g. `http://127.0.0.1:41234`. */
  baseUrl: string;
  model: string;
  /** Requests it may have in flight at once; the gateway's `maxInFlightPerReplica` when absent. */
  maxInFlight?: number;
}

export interface PipelineGatewayOptions {
  /** The name clients use: `POST /v2/models/PIPELINE/infer`. */
  pipeline: string;
  /** Stage names in request order. */
  stages: string[];
  slaMs: number;
  /** A request still queued this long after it arrived is answered 503; default 1.5 × SLA (as `ipa simulate`). */
  dropLimitMs?: number;
  /** Default 1 (one request at a time per replica); a replica's max batch size lets its server batch. */
  maxInFlightPerReplica?: number;
  /** Port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** Longest wait for one replica's answer; default 30 s. */
  replicaTimeoutMs?: number;
}

/** Counts by outcome since the gateway started: every pipeline request lands in exactly one. */
export type OutcomeCounts = Record<Outcome, number>;

export interface StageStatus {
  stage: string;
  queueLength: number;
  replicas: { baseUrl: string; model: string; inFlight: number; served: number; ready: boolean; active: boolean }[];
}

interface Replica extends QueueReplica {
  endpoint: ReplicaEndpoint;
  client: ReplicaClient;
  /** Input names the model declares (`GET /v2/models/NAME`), learned by the readiness probe. */
  inputs?: TensorMetadata[];
  probing: boolean;
}

const maxBodyBytes = 16 * 1024 * 1024;

function replicaKey(endpoint: ReplicaEndpoint): string {
  return `${endpoint.baseUrl.replace(/\/+$/, '')}/${endpoint.model}`;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The live pipeline's front door: one Open Inference Protocol v2 endpoint for the whole
 * pipeline. Each request goes through the stages in order, each stage's output tensors becoming
 * the next stage's inputs (`chainTensors`), through a FIFO queue per stage to the ready replica
 * with the fewest requests in flight (`StageQueue`). A request still queued past the drop limit
 * is answered 503 and counted as dropped. Replica sets change at run time with `setReplicas`.
 */
export class PipelineGateway {
  readonly url: string;
  readonly dropLimitMs: number;
  readonly metrics: GatewayMetrics;
  private readonly queues = new Map<string, StageQueue<Replica>>();
  private readonly counts: OutcomeCounts = { ok: 0, dropped: 0, error: 0 };
  private readonly jsonRoutes = new Map<string, () => unknown>();
  private closed = false;

  private constructor(
    private readonly options: PipelineGatewayOptions,
    private readonly server: Server,
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.dropLimitMs = options.dropLimitMs ?? 1.5 * options.slaMs;
    for (const stage of options.stages) {
      const queue = new StageQueue<Replica>(stage);
      queue.onGone = (replica) => replica.client.close();
      this.queues.set(stage, queue);
    }
    this.metrics = new GatewayMetrics(options.pipeline, options.slaMs, () => this.snapshot());
    server.on('request', (req, res) => void this.handle(req, res));
  }

  /** Checks the options, listens on 127.0.0.1 and resolves once it does. Stages start with no replica. */
  static async start(options: PipelineGatewayOptions): Promise<PipelineGateway> {
    checkOptions(options);
    const server = createServer({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`port ${options.port} is taken: the gateway of ${options.pipeline} cannot listen on it`)
            : error,
        ),
      );
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const gateway = new PipelineGateway(options, server);
    log.info(
      { pipeline: options.pipeline, url: gateway.url, stages: options.stages, dropLimitMs: gateway.dropLimitMs },
      'gateway listening',
    );
    return gateway;
  }

  /**
   * Makes `endpoints` the stage's replicas. A new one takes requests once it answers its model's
   * metadata; one left out takes no new request, and the requests it has finish.
   */
  setReplicas(stage: string, endpoints: ReplicaEndpoint[]): void {
    const queue = this.queues.get(stage);
    if (!queue)
      throw new Error(`stage ${JSON.stringify(stage)} is not a stage of ${this.options.pipeline} (${this.options.stages.join(', ')})`);
    const replicas = endpoints.map((endpoint, i): Replica => {
      if (typeof endpoint?.model !== 'string' || endpoint.model === '') {
        throw new Error(`endpoints[${i}].model of stage ${stage} must be a model name, got ${JSON.stringify(endpoint?.model)}`);
      }
      const maxInFlight = endpoint.maxInFlight ?? this.options.maxInFlightPerReplica ?? 1;
      if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
        throw new Error(
          `endpoints[${i}].maxInFlight of stage ${stage} must be an integer ≥ 1, got ${JSON.stringify(endpoint.maxInFlight)}`,
        );
      }
      let client: ReplicaClient;
      try {
        client = new ReplicaClient(endpoint.baseUrl, maxInFlight + 1);
      } catch (error) {
        throw new Error(`endpoints[${i}].baseUrl of stage ${stage}: ${(error as Error).message}`);
      }
      return { key: replicaKey(endpoint), maxInFlight, endpoint, client, probing: false };
    });
    const known = new Map(queue.allReplicas().map((r) => [r.replica.key, r.replica]));
    // A replica listed again keeps its client and what its probe learned.
    const merged = replicas.map((r) => {
      const old = known.get(r.key);
      if (!old) return r;
      r.client.close();
      old.maxInFlight = r.maxInFlight;
      return old;
    });
    const { gone } = queue.setReplicas(merged);
    for (const replica of gone) replica.client.close();
    const ready = new Set(queue.readyReplicas().map((r) => r.key));
    for (const replica of merged) if (!ready.has(replica.key)) void this.probe(stage, replica);
    log.info({ pipeline: this.options.pipeline, stage, replicas: merged.map((r) => r.key) }, 'gateway replicas set');
  }

  /** Serves `GET path` with what `body` returns, as JSON (e.g. `/ipa/status` of the gateway process). */
  addJsonRoute(path: string, body: () => unknown): void {
    this.jsonRoutes.set(path, body);
  }

  /** Each stage's queue and replicas, as plain data. */
  status(): StageStatus[] {
    return [...this.queues.values()].map((queue) => ({
      stage: queue.stage,
      queueLength: queue.queueLength,
      replicas: queue.allReplicas().map(({ replica, inFlight, served, ready, active }) => ({
        baseUrl: replica.endpoint.baseUrl,
        model: replica.endpoint.model,
        inFlight,
        served,
        ready,
        active,
      })),
    }));
  }

  /** Requests answered so far by outcome. */
  outcomes(): OutcomeCounts {
    return { ...this.counts };
  }

  /** True when every stage has a ready replica. */
  ready(): boolean {
    return [...this.queues.values()].every((q) => q.readyReplicas().length > 0);
  }

  /** Stops listening, fails queued requests, closes connections to replicas. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const queue of this.queues.values()) queue.rejectAll(new HttpError(503, 'the gateway is shutting down'));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 2000).unref();
    });
    for (const queue of this.queues.values()) for (const { replica } of queue.allReplicas()) replica.client.close();
  }

  private snapshot(): StageSnapshot[] {
    return [...this.queues.values()].map((q) => ({
      stage: q.stage,
      queueLength: q.queueLength,
      readyVariants: q.readyReplicas().map((r) => r.endpoint.model),
    }));
  }

  /** Polls the model's metadata until it answers (then the replica is ready) or the replica is removed. */
  private async probe(stage: string, replica: Replica): Promise<void> {
    const queue = this.queues.get(stage) as StageQueue<Replica>;
    if (replica.probing) return;
    replica.probing = true;
    const path = `/v2/models/${encodeURIComponent(replica.endpoint.model)}`;
    try {
      while (!this.closed && queue.isActive(replica.key)) {
        try {
          const answer = await replica.client.get(path, 2000);
          if (answer.status === 200) {
            replica.inputs = (JSON.parse(answer.body) as ModelMetadata).inputs ?? [];
            queue.setReady(replica.key, true);
            log.info({ pipeline: this.options.pipeline, stage, replica: replica.key }, 'gateway replica ready');
            return;
          }
        } catch {
          // Not up yet: try again.
        }
        await sleep(250);
      }
    } finally {
      replica.probing = false;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] as string;
    try {
      if (path === '/metrics' && req.method === 'GET') {
        const text = await this.metrics.registry.metrics();
        return send(res, 200, text, this.metrics.registry.contentType);
      }
      if (path === '/v2/health/live' && req.method === 'GET') return sendJson(res, 200, { live: true });
      if (path === '/v2/health/ready' && req.method === 'GET') {
        const missing = [...this.queues.values()].filter((q) => q.readyReplicas().length === 0).map((q) => q.stage);
        return missing.length === 0
          ? sendJson(res, 200, { ready: true })
          : sendJson(res, 503, { ready: false, error: `no ready replica for stage(s) ${missing.join(', ')}` });
      }
      const extra = req.method === 'GET' ? this.jsonRoutes.get(path) : undefined;
      if (extra) return sendJson(res, 200, extra());
      const match = /^\/v2\/models\/([^/]+)(\/ready|\/infer)?$/.exec(path);
      if (!match) throw new HttpError(404, `no route ${req.method} ${path}; this gateway serves /v2/models/${this.options.pipeline}/infer`);
      const model = decodeURIComponent(match[1] as string);
      if (model !== this.options.pipeline) {
        throw new HttpError(
          404,
          `model ${JSON.stringify(model)} is not served here; this gateway serves pipeline ${JSON.stringify(this.options.pipeline)}`,
        );
      }
      const action = match[2];
      if (action === '/infer') {
        if (req.method !== 'POST') throw new HttpError(405, `${req.method} ${path}: use POST`);
        return await this.infer(req, res);
      }
      if (req.method !== 'GET') throw new HttpError(405, `${req.method} ${path}: use GET`);
      if (action === '/ready') return sendJson(res, this.ready() ? 200 : 503, { name: model, ready: this.ready() });
      return sendJson(res, 200, this.metadata());
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      sendJson(res, status, { error: (error as Error).message });
    }
  }

  /** The pipeline's metadata: its inputs are the first stage's, as a ready replica declares them. */
  private metadata(): ModelMetadata & { stages: string[] } {
    const first = this.queues.get(this.options.stages[0] as string)?.readyReplicas()[0];
    return {
      name: this.options.pipeline,
      platform: 'ipa-gateway',
      versions: [],
      inputs: first?.inputs ?? [],
      outputs: [],
      stages: this.options.stages,
    };
  }

  private async infer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    const deadline = Date.now() + this.dropLimitMs;
    let outcome: Outcome = 'error';
    // Time spent waiting on replicas, so a client can tell what the gateway itself added (Server-Timing).
    let upstreamMs = 0;
    const reply = (status: number, answer: unknown) => this.answer(res, status, answer, arrived, upstreamMs);
    try {
      const request = parseInferenceRequest(await readBody(req));
      let tensors: InferenceTensor[] = request.inputs;
      for (const [i, stage] of this.options.stages.entries()) {
        const queue = this.queues.get(stage) as StageQueue<Replica>;
        const lease = await queue.acquire(deadline);
        try {
          const replica = lease.replica;
          const inputs =
            i === 0
              ? tensors
              : chainTensors(
                  tensors,
                  replica.inputs?.map((t) => t.name),
                );
          const called = performance.now();
          try {
            tensors = await this.call(stage, replica, inputs);
          } finally {
            upstreamMs += performance.now() - called;
          }
        } finally {
          lease.release();
        }
      }
      outcome = 'ok';
      reply(200, { model_name: this.options.pipeline, ...(request.id === undefined ? {} : { id: request.id }), outputs: tensors });
    } catch (error) {
      if (error instanceof DroppedError) {
        outcome = 'dropped';
        reply(503, { error: `${error.message} (${this.dropLimitMs} ms)` });
      } else if (error instanceof BadRequestError) {
        reply(400, { error: error.message, field: error.field });
      } else {
        reply(error instanceof HttpError ? error.status : 502, { error: (error as Error).message });
      }
    } finally {
      this.counts[outcome]++;
      this.metrics.request(outcome, (performance.now() - arrived) / 1000);
    }
  }

  /** One answer from `infer`, with the time split the client may want: replicas vs the whole gateway. */
  private answer(res: ServerResponse, status: number, body: unknown, arrived: number, upstreamMs: number): void {
    const text = JSON.stringify(body);
    if (!res.headersSent) {
      const total = performance.now() - arrived;
      res.setHeader('server-timing', `upstream;dur=${upstreamMs.toFixed(3)}, gateway;dur=${total.toFixed(3)}`);
    }
    send(res, status, text, 'application/json');
  }

  /** One stage's call to one replica; a replica that cannot be reached is probed again before it takes more. */
  private async call(stage: string, replica: Replica, inputs: InferenceTensor[]): Promise<InferenceTensor[]> {
    const where = `stage ${stage} replica ${replica.key}`;
    const started = performance.now();
    let answer: { status: number; body: string };
    try {
      answer = await replica.client.postJson(
        `/v2/models/${encodeURIComponent(replica.endpoint.model)}/infer`,
        JSON.stringify({ inputs }),
        this.options.replicaTimeoutMs ?? 30_000,
      );
    } catch (error) {
      const queue = this.queues.get(stage) as StageQueue<Replica>;
      queue.setReady(replica.key, false);
      void this.probe(stage, replica);
      throw new HttpError(502, `${where} failed: ${(error as Error).message}`);
    }
    this.metrics.stage(stage, (performance.now() - started) / 1000);
    if (answer.status !== 200) throw new HttpError(502, `${where} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      throw new HttpError(502, `${where} answered a body that is not JSON: ${answer.body.slice(0, 200)}`);
    }
    return outputsOf(parsed, where);
  }
}

function checkOptions(options: PipelineGatewayOptions): void {
  if (typeof options.pipeline !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.pipeline)) {
    throw new Error(`pipeline must be a name of letters, digits, '.', '_' or '-', got ${JSON.stringify(options.pipeline)}`);
  }
  if (!Array.isArray(options.stages) || options.stages.length === 0 || new Set(options.stages).size !== options.stages.length) {
    throw new Error(`stages must be a non-empty list of distinct stage names, got ${JSON.stringify(options.stages)}`);
  }
  if (!Number.isFinite(options.slaMs) || options.slaMs <= 0)
    throw new Error(`slaMs must be a number > 0, got ${JSON.stringify(options.slaMs)}`);
  if (options.dropLimitMs !== undefined && !(options.dropLimitMs >= 0)) {
    throw new Error(`dropLimitMs must be a number ≥ 0, got ${JSON.stringify(options.dropLimitMs)}`);
  }
  const perReplica = options.maxInFlightPerReplica;
  if (perReplica !== undefined && (!Number.isInteger(perReplica) || perReplica < 1)) {
    throw new Error(`maxInFlightPerReplica must be an integer ≥ 1, got ${JSON.stringify(perReplica)}`);
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new Error(`port must be an integer in 0..65535, got ${JSON.stringify(options.port)}`);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new BadRequestError('body', `is larger than ${maxBodyBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, contentType: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), 'application/json');
}
