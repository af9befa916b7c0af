/**
 * A load generator as a process: serves `ipa_requests_total{pipeline}` on /metrics, a counter
 * that follows a list of per-second loads, for a real Prometheus to scrape.
 *
 *   node loadGeneratorProcess.js --pipeline video --loads '[20,20,80]' [--port 0]
 *   node loadGeneratorProcess.js --pipeline video --loads-file loads.json
 *
 * Prints `load generator listening on 127.0.0.1:<port>` once ready. GET /loads answers
 * `{pipeline, loads, startedAtMs, scrapes}`: startedAtMs is null until the first scrape.
 *
 * The counter rises in steps: the whole of loads[i] is added at the start of second i
 * (startedAtMs + i·1000). Two scrapes 1 s apart then always straddle exactly one step, so
 * irate() (or rate() over 2 s) gives back loads[i] itself, whatever the scrape phase; a counter
 * rising smoothly within each second would give a blend (1 − f)·loads[i] + f·loads[i+1], f the
 * scrape phase, exact only on flat stretches. The steps are placed half-way between scrapes: the
 * generator starts its seconds 500 ms after the first scrape reaches it, so a scrape arriving a
 * few ms early or late never moves a step into the neighbouring second. Before the start the
 * counter stays 0; after the loads run out the last load goes on (the counter keeps rising by it).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    pipeline: { type: 'string' },
    loads: { type: 'string' },
    'loads-file': { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});

function fail(message: string): never {
  process.stderr.write(`load generator: ${message}\n`);
  process.exit(2);
}

const pipeline = values.pipeline ?? fail('--pipeline is required');
const loadsText =
  values.loads ?? (values['loads-file'] ? readFileSync(values['loads-file'], 'utf8') : fail('--loads or --loads-file is required'));
const loads: unknown = JSON.parse(loadsText);
if (!Array.isArray(loads) || loads.length === 0 || !loads.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
  fail(`--loads must be a non-empty JSON array of finite numbers ≥ 0, got ${loadsText}`);
}
const perSecond = loads as number[];
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, got ${JSON.stringify(values.port)}`);

/** prefix[i] = loads[0] + … + loads[i − 1]. */
const prefix = [0];
for (const load of perSecond) prefix.push((prefix.at(-1) as number) + load);
const last = perSecond.at(-1) as number;

let startedAtMs: number | null = null;
let scrapes = 0;

function counterAt(nowMs: number): number {
  if (startedAtMs === null || nowMs < startedAtMs) return 0;
  const second = Math.floor((nowMs - startedAtMs) / 1000);
  if (second < perSecond.length) return prefix[second + 1] as number;
  return (prefix.at(-1) as number) + (second - perSecond.length + 1) * last;
}

const server = createServer((request, response) => {
  const now = Date.now();
  if (request.url === '/metrics') {
    scrapes++;
    startedAtMs ??= now + 500;
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(
      '# HELP ipa_requests_total Requests that entered the pipeline.\n' +
        '# TYPE ipa_requests_total counter\n' +
        `ipa_requests_total{pipeline=${JSON.stringify(pipeline)}} ${counterAt(now)}\n`,
    );
  } else if (request.url === '/loads') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ pipeline, loads: perSecond, startedAtMs, scrapes }));
  } else {
    response.writeHead(404).end();
  }
});

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`load generator listening on 127.0.0.1:${bound}\n`);
});

// Prometheus keeps its connection open, so waiting for server.close() could wait forever.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
