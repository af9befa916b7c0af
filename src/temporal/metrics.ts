import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { log } from '../common/log.js';
import type { DecisionRecord } from '../model/decisionRecord.js';

/** One registry per process: every workflow's record activity reports into it, labelled by pipeline. */
export const registry = new Registry();

const labelNames = ['pipeline'] as const;
const decisions = new Counter({
  name: 'ipa_decisions_total',
  help: 'Adaptation steps recorded',
  labelNames: ['pipeline', 'outcome'],
  registers: [registry],
});
const solveSeconds = new Histogram({
  name: 'ipa_solve_seconds',
  help: 'Optimizer time per decision',
  labelNames,
  buckets: [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3],
  registers: [registry],
});
const forecastRps = new Gauge({
  name: 'ipa_forecast_rps',
  help: 'Load the last decision provisioned for (req/s)',
  labelNames,
  registers: [registry],
});
const observedRps = new Gauge({
  name: 'ipa_observed_rps',
  help: 'Last observed per-second load (req/s)',
  labelNames,
  registers: [registry],
});
const pas = new Gauge({ name: 'ipa_pas', help: 'Pipeline accuracy score of the chosen config', labelNames, registers: [registry] });
const cost = new Gauge({
  name: 'ipa_cost',
  help: 'Cost of the chosen config (Σ replicas × resource prices)',
  labelNames,
  registers: [registry],
});
const slaMs = new Gauge({ name: 'ipa_sla_ms', help: 'SLA in force', labelNames, registers: [registry] });
const infeasible = new Counter({
  name: 'ipa_infeasible_steps_total',
  help: 'Steps whose problem had no feasible config',
  labelNames,
  registers: [registry],
});
const applyFailures = new Counter({
  name: 'ipa_apply_failures_total',
  help: 'Steps whose apply failed',
  labelNames,
  registers: [registry],
});
const staleWindows = new Counter({
  name: 'ipa_observe_failures_total',
  help: 'Steps that reused the last good window because observing failed',
  labelNames,
  registers: [registry],
});

const lastDecisionAt = new Gauge({
  name: 'ipa_last_decision_timestamp_seconds',
  help: 'When the last step started (Unix seconds): a loop that stalls stops moving it',
  labelNames,
  registers: [registry],
});
const intervalSeconds = new Gauge({
  name: 'ipa_interval_seconds',
  help: 'The loop interval: a step is due this long after the last one',
  labelNames,
  registers: [registry],
});
const predictedLatencyMs = new Gauge({
  name: 'ipa_predicted_latency_ms',
  help: 'End-to-end latency the chosen config is planned to hold at the provisioned load',
  labelNames,
  registers: [registry],
});

export function recordMetrics(record: DecisionRecord): void {
  const pipeline = record.pipeline;
  decisions.inc({ pipeline, outcome: record.outcome });
  slaMs.set({ pipeline }, record.settings.slaMs);
  lastDecisionAt.set({ pipeline }, Date.parse(record.at) / 1000);
  if (record.intervalSeconds !== undefined) intervalSeconds.set({ pipeline }, record.intervalSeconds);
  if (record.solver) solveSeconds.observe({ pipeline }, record.solver.timeMs / 1000);
  if (record.forecast) forecastRps.set({ pipeline }, record.forecast.provisioned);
  if (record.observed) observedRps.set({ pipeline }, record.observed.last);
  // Incremented by 0 too, so every pipeline's series exists from its first step and rate() works.
  staleWindows.inc({ pipeline }, record.observed?.stale ? 1 : 0);
  if (record.predicted) {
    pas.set({ pipeline }, record.predicted.pas);
    cost.set({ pipeline }, record.predicted.cost);
    predictedLatencyMs.set({ pipeline }, record.predicted.latencyMs);
  }
  infeasible.inc({ pipeline }, record.feasible === false ? 1 : 0);
  applyFailures.inc({ pipeline }, record.apply?.status === 'failed' ? 1 : 0);
}

/** Serves `/metrics` for Prometheus to scrape. Port 0 picks a free one. */
export async function serveMetrics(port: number, host = '127.0.0.1'): Promise<Server & { url: string }> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}/metrics`;
  log.info({ url }, 'serving metrics');
  return Object.assign(server, { url });
}
