/**
 * Gateway benchmark: what the pipeline gateway adds to a request. The same open-loop Poisson
 * requests go straight to one MLServer replica of the testbed and through a one-stage gateway in
 * front of that replica, alternating, in one run; then a closed loop measures how many requests
 * per second each path carries. Run with `npm run bench:gateway`. It prints tables (stdout) and
 * progress (stderr); it never asserts on time.
 *
 * Goal: added p99 ≤ 2 ms at 200 requests/s.
 */
import os from 'node:os';
import { formatNumber, table } from '../src/common/table.js';
import { PipelineGateway } from '../src/live/pipelineGateway.js';
import { fetchModelMetadata, type InferenceEndpoint, payloadFromMetadata } from '../src/profiling/inferenceEndpoint.js';
import { type LoadResult, runClosedLoop, runOpenLoop } from '../src/profiling/loadGenerator.js';
import { startModelServer } from '../src/profiling/testbed.js';

const RATE = 200;
const SECONDS = 10;
const ROUNDS = 2;
const CLIENTS = 8;
const VARIANT = 'classify-logreg';

const progress = (line: string) => process.stderr.write(`${line}\n`);
const f = (n: number) => formatNumber(n, 2);

async function main(): Promise<void> {
  progress(`starting MLServer for ${VARIANT} (one replica, all cores)`);
  const server = await startModelServer({ variant: VARIANT });
  const gateway = await PipelineGateway.start({ pipeline: 'bench', stages: ['classify'], slaMs: 10_000 });
  try {
    gateway.setReplicas('classify', [{ baseUrl: server.url, model: server.model, maxInFlight: CLIENTS }]);
    while (!gateway.ready()) await new Promise((resolve) => setTimeout(resolve, 100));
    const direct: InferenceEndpoint = { baseUrl: server.url, model: server.model };
    const through: InferenceEndpoint = { baseUrl: gateway.url, model: 'bench' };
    const payload = payloadFromMetadata(await fetchModelMetadata(direct), { batchSize: 1 });
    // Warm both paths: connections, MLServer's first requests.
    for (const endpoint of [direct, through]) await runClosedLoop({ endpoint, payload, durationMs: 2000, concurrency: 2 });

    const open: { path: string; round: number; result: LoadResult }[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const [path, endpoint] of [
        ['direct', direct],
        ['gateway', through],
      ] as const) {
        progress(`open loop ${RATE} req/s for ${SECONDS} s, ${path}, round ${round}/${ROUNDS}`);
        open.push({
          path,
          round,
          result: await runOpenLoop({ endpoint, payload, durationMs: SECONDS * 1000, ratePerSecond: RATE, seed: round }),
        });
      }
    }
    const closed: { path: string; result: LoadResult }[] = [];
    for (const [path, endpoint] of [
      ['direct', direct],
      ['gateway', through],
    ] as const) {
      progress(`closed loop, ${CLIENTS} clients for ${SECONDS} s, ${path}`);
      closed.push({ path, result: await runClosedLoop({ endpoint, payload, durationMs: SECONDS * 1000, concurrency: CLIENTS }) });
    }

    console.log(`# gateway benchmark — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} (${os.availableParallelism()} cores)\n`);
    console.log(`## Open loop, ${RATE} requests/s (Poisson), ${SECONDS} s per run, ${VARIANT} on MLServer, batch 1\n`);
    console.log(
      table(
        ['round', 'path', 'sent', 'ok', 'errors', 'p50 ms', 'p99 ms', 'max ms'],
        open.map(({ path, round, result: r }) => [round, path, r.sent, r.ok, r.errors + r.timeouts, f(r.p50Ms), f(r.p99Ms), f(r.maxMs)]),
      ),
    );
    const added = Array.from({ length: ROUNDS }, (_, i) => {
      const d = open[2 * i]?.result as LoadResult;
      const g = open[2 * i + 1]?.result as LoadResult;
      return [i + 1, f(g.p50Ms - d.p50Ms), f(g.p99Ms - d.p99Ms), g.p99Ms - d.p99Ms <= 2 ? 'met' : 'missed'];
    });
    console.log(`\n## Added by the gateway (gateway − direct, same round)\n`);
    console.log(table(['round', 'added p50 ms', 'added p99 ms', 'goal added p99 ≤ 2 ms'], added));
    console.log(`\n## Closed loop, ${CLIENTS} clients: requests/s each path carries (the model server bounds both)\n`);
    console.log(
      table(
        ['path', 'ok', 'requests/s', 'p50 ms', 'p99 ms'],
        closed.map(({ path, result: r }) => [path, r.ok, f(r.throughput), f(r.p50Ms), f(r.p99Ms)]),
      ),
    );
    const outcomes = gateway.outcomes();
    console.log(`\ngateway outcomes: ok ${outcomes.ok}, dropped ${outcomes.dropped}, error ${outcomes.error}`);
  } finally {
    await gateway.close();
    await server.stop();
  }
}

await main();
