import type { Command } from 'commander';
import { formatNumber, table } from '../common/table.js';
import { resolvePipelineSpec } from '../io/load.js';
import {
  liveGatewayUrl,
  parseScale,
  REPLAY_ARRIVALS,
  type ReplayArrivals,
  type ReplayScale,
  type ReplaySource,
  type ReplaySummary,
  replayLoad,
} from '../live/loadReplay.js';
import { payloadFromFile } from '../profiling/inferenceEndpoint.js';
import { PATTERN_NAMES, type PatternName } from '../simulator/loadPatterns.js';
import { flagError, numberFlag, oneOf, positiveNumberFlag } from './flags.js';
import { progressBar } from './progress.js';

interface LoadFlags {
  pipeline?: string;
  url?: string;
  stateDir?: string;
  pattern?: string;
  trace?: string;
  start?: string;
  scale?: string;
  speed: string;
  seconds?: string;
  arrivals: string;
  seed: string;
  slaMs?: string;
  timeoutMs: string;
  sample?: string;
  interval?: string;
  out?: string;
  checkGateway?: boolean;
  json?: boolean;
}

const f = (n: number) => formatNumber(n, 2);

/** The summary as a person reads it: the counts, the latencies, the gateway check, the intervals. */
export function renderReplaySummary(s: ReplaySummary): string {
  const lines = [
    `${s.pipeline} at ${s.url}: ${s.source}, ${s.arrivals} arrivals (seed ${s.seed}), ×${formatNumber(s.factor, 4)} load, speed ${s.speed}, peak ${f(s.peakRps)} req/s`,
    `${s.aborted ? `aborted after ${f(s.elapsedMs / 1000)} s: ` : ''}sent ${s.sent} of ${s.planned} in ${f(s.elapsedMs / 1000)} s (schedule ${f(s.durationMs / 1000)} s)`,
    '',
    table(
      ['sent', 'ok', 'dropped', 'errors', 'p50 ms', 'p99 ms', 'max ms', `late (> ${s.slaMs} ms)`, 'violations %'],
      [[s.sent, s.ok, s.dropped, s.errors, s.p50Ms, s.p99Ms, s.maxMs, s.lateOk, s.violationsPercent]],
    ),
    '',
    s.accounted
      ? `every request accounted for: sent ${s.sent} = ok ${s.ok} + dropped ${s.dropped} + errors ${s.errors}`
      : `NOT ACCOUNTED: sent ${s.sent} ≠ ok ${s.ok} + dropped ${s.dropped} + errors ${s.errors}`,
  ];
  if (s.timeouts > 0) lines.push(`${s.timeouts} of the errors got no answer within the timeout`);
  for (const sample of s.errorSamples) lines.push(`  error: ${sample}`);
  if (s.gateway) {
    const g = s.gateway;
    lines.push(
      '',
      table(
        ['outcome', 'generator', 'gateway Δ', 'gateway before', 'gateway after', 'equal'],
        (['ok', 'dropped', 'error'] as const).map((o) => [
          o,
          g.generator[o],
          g.delta[o],
          g.before[o],
          g.after[o],
          g.generator[o] === g.delta[o] ? 'yes' : 'NO',
        ]),
      ),
      g.matches
        ? "the gateway's counters moved exactly by the generator's counts"
        : "MISMATCH: the gateway's counters did not move by the generator's counts (another client, a restarted gateway, or answers the generator gave up on)",
    );
  }
  if (s.intervals) {
    lines.push(
      '',
      table(
        ['from s', 'to s', 'sent', 'req/s', 'ok', 'dropped', 'errors', 'p50 ms', 'p99 ms', 'violations %'],
        s.intervals.map((i) => [
          i.fromS,
          i.toS,
          i.sent,
          Math.round((i.sent / (i.toS - i.fromS)) * 10) / 10,
          i.ok,
          i.dropped,
          i.errors,
          i.p50Ms,
          i.p99Ms,
          i.violationsPercent,
        ]),
      ),
    );
  }
  if (s.out) lines.push('', `wrote ${s.sent} request lines to ${s.out}`);
  return `${lines.join('\n')}\n`;
}

/** The SLA: --sla-ms, else the one of the pipeline spec of the same name (profiles/pipelines/NAME.json). */
async function slaOf(pipeline: string, flag: string | undefined): Promise<number> {
  const given = positiveNumberFlag('--sla-ms', flag);
  if (given !== undefined) return given;
  try {
    return (await resolvePipelineSpec(pipeline)).slaMs;
  } catch (error) {
    const why = (error as Error).message.replace(/\s*\n\s*/g, ' ');
    throw flagError('--sla-ms', `required: the pipeline spec of ${pipeline} gives none (${why})`);
  }
}

/**
 * `ipa live load`: under the `live` command, which `ipa live up|down|status` (cli/live.ts) also
 * uses; it is found or made here, so either may be registered first.
 */
/** `ipa live load`, a subcommand of `ipa live`. */
export function addLiveLoadCommand(live: Command): void {
  live
    .command('load')
    .description(
      "replay a load pattern or trace against a live pipeline's gateway, open loop, and account for every request: ok, dropped, error",
    )
    .option('--pipeline <name>', 'the live pipeline (its gateway serves /v2/models/NAME/infer)')
    .option('--url <url>', "the gateway's root URL (default: the one `ipa live up` recorded for the pipeline)")
    .option('--state-dir <dir>', 'live state folder to find the gateway in (default .ipa/live, or IPA_LIVE_DIR)')
    .option('--pattern <name>', `one of IPA's load patterns: ${PATTERN_NAMES.join(', ')}`)
    .option('--trace <file>', 'a trace of requests per second (numbers or a JSON array, .gz allowed), played as written')
    .option('--start <s>', 'with --trace: the first trace second to play', '0')
    .option(
      '--scale <peak|factor>',
      'a number: requests/s of the busiest second (e.g. 150); a number with x: a factor on the loads (e.g. 0.5x)',
      '1x',
    )
    .option('--speed <x>', 'trace seconds per real second (2 plays 20 min in 10, twice as fast)', '1')
    .option('--seconds <n>', 'real seconds to run (default: the whole pattern or trace)')
    .option('--arrivals <mode>', "poisson (each second's requests at uniform random times) or bursts (IPA's load generator)", 'bursts')
    .option('--seed <n>', 'seed of the arrival times', '1')
    .option('--sla-ms <ms>', 'latency bound for violations (default: the SLA of the pipeline spec of that name)')
    .option('--timeout-ms <ms>', 'a request unanswered this long counts as an error', '30000')
    .option('--sample <file>', "a request body to send (default: one random tensor per input the gateway's metadata declares)")
    .option('--interval <s>', 'also print a table per interval of this many seconds')
    .option('--out <file.jsonl>', 'write one JSON line per request: send time, latency, status, outcome')
    .option('--check-gateway', "compare the gateway's ipa_gateway_requests_total before and after with the generator's counts")
    .option('--json', 'print the summary as JSON')
    .action(async (flags: LoadFlags) => {
      if (!flags.pipeline) throw flagError('--pipeline', 'required: the live pipeline to send to');
      if ((flags.pattern === undefined) === (flags.trace === undefined)) {
        throw flagError(flags.pattern ? '--trace' : '--pattern', 'give exactly one of --pattern and --trace');
      }
      let source: ReplaySource;
      if (flags.pattern !== undefined) source = { pattern: oneOf<PatternName>('--pattern', flags.pattern, PATTERN_NAMES) as PatternName };
      else source = { trace: flags.trace as string, start: numberFlag('--start', flags.start ?? '0', { integer: true }) };
      let scale: ReplayScale;
      try {
        scale = parseScale(flags.scale ?? '1x');
      } catch (error) {
        throw flagError('--scale', (error as Error).message.replace(/^scale must be/, 'expected'));
      }
      const speed = positiveNumberFlag('--speed', flags.speed) as number;
      const seconds = positiveNumberFlag('--seconds', flags.seconds);
      const arrivals = oneOf<ReplayArrivals>('--arrivals', flags.arrivals, REPLAY_ARRIVALS) as ReplayArrivals;
      const seed = numberFlag('--seed', flags.seed, { integer: true, max: 2 ** 32 - 1 });
      const timeoutMs = positiveNumberFlag('--timeout-ms', flags.timeoutMs) as number;
      const intervalSeconds = positiveNumberFlag('--interval', flags.interval);
      const slaMs = await slaOf(flags.pipeline, flags.slaMs);
      const url = flags.url ?? (await liveGatewayUrl(flags.pipeline, flags.stateDir));
      const payload = flags.sample ? await payloadFromFile(flags.sample) : undefined;

      // Ctrl-C stops sending; what was sent is still answered and counted. A second Ctrl-C exits.
      const controller = new AbortController();
      const onInterrupt = () => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write('\nstopping: no new requests; waiting for the answers to those sent (Ctrl-C again to quit)\n');
        controller.abort();
      };
      process.on('SIGINT', onInterrupt);
      const bar = progressBar('load');
      try {
        const summary = await replayLoad({
          pipeline: flags.pipeline,
          url,
          source,
          scale,
          speed,
          ...(seconds !== undefined ? { seconds } : {}),
          arrivals,
          seed,
          slaMs,
          timeoutMs,
          ...(payload ? { payload } : {}),
          ...(flags.out ? { out: flags.out } : {}),
          ...(flags.checkGateway ? { checkGateway: true } : {}),
          ...(intervalSeconds !== undefined ? { intervalSeconds } : {}),
          signal: controller.signal,
          onProgress: (p) =>
            bar(
              Math.min(p.elapsedMs, p.durationMs),
              p.durationMs,
              `sent ${p.sent}/${p.planned}, ok ${p.ok}, dropped ${p.dropped}, errors ${p.errors}, in flight ${p.inFlight}`,
            ),
        });
        if (summary.aborted && process.stderr.isTTY) process.stderr.write('\n');
        process.stdout.write(flags.json ? `${JSON.stringify(summary, null, 2)}\n` : renderReplaySummary(summary));
        if (!summary.accounted || summary.gateway?.matches === false) process.exitCode = 1;
      } finally {
        process.off('SIGINT', onInterrupt);
      }
    });
}
