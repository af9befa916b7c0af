import { join } from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { log } from '../common/log.js';
import { resolvePipelineSpec, resolveProfileSet } from '../io/load.js';
import { GATEWAY_LOAD_QUERY } from '../live/livePrometheus.js';
import { DEFAULT_INITIAL_RPS, DEMO_LOAD, livePeakRps } from '../live/liveScale.js';
import { liveRoot, readReplicas } from '../live/liveState.js';
import { replayLoad } from '../live/loadReplay.js';
import type { AdaptInputFields } from '../model/adaptInput.js';
import { ensureTestbed } from '../profiling/testbed.js';
import type { TemporalSettings } from '../temporal/connection.js';
import { TASK_QUEUES } from '../temporal/taskQueues.js';
import { cpuLimitUnavailable } from '../tooling/cpuLimit.js';
import { findPrometheus } from '../tooling/setup/prometheus.js';
import { adaptPipeline } from '../workflows/adaptPipeline.js';
import { IpaPipeline } from '../workflows/searchAttributes.js';
import { withClient } from './client.js';
import { ipaCommand } from './commandHints.js';
import { bringDown, bringUp } from './live.js';

export const DEMO_KINDS = ['live', 'simulated'] as const;
export type DemoKind = (typeof DEMO_KINDS)[number];

export const DEMO_WORKFLOW_ID = 'demo-video';
export const LIVE_DEMO_WORKFLOW_ID = 'demo-testbed';

/** The IPA paper's bursty window (load-patterns.json), damped by 8 as IPA did, six times faster than real time. */
export const DEMO_INPUT: AdaptInputFields = {
  pipeline: 'video',
  intervalSeconds: 10,
  observe: { kind: 'trace', start: 1_301_160, speed: 6, damp: 8 },
  actuator: { kind: 'simulated' },
};

/** A running demo; `stop` undoes what it started (the live one's processes), before the worker stops. */
export interface Demo {
  workflowId: string;
  stop(): Promise<void>;
}

/** Starts a loop, or leaves it as it is when a server that kept its state already runs it. */
async function startLoop(settings: TemporalSettings, workflowId: string, input: AdaptInputFields, pipeline: string): Promise<void> {
  try {
    await withClient(
      (client) =>
        client.workflow.start(adaptPipeline, {
          args: [input],
          taskQueue: TASK_QUEUES.adapt,
          workflowId,
          typedSearchAttributes: [{ key: IpaPipeline, value: pipeline }],
        }),
      settings,
    );
    log.info({ workflowId }, `demo started: ${pipeline}`);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    log.info({ workflowId }, 'demo already running');
  }
}

async function announce(settings: TemporalSettings, uiUrl: string | undefined, workflowId: string, what: string): Promise<void> {
  process.stderr.write(
    `  Demo: ${uiUrl ? `${uiUrl}/namespaces/${settings.namespace}/workflows/${workflowId}` : workflowId}  (${what}; --no-demo turns it off)\n` +
      `        ${await ipaCommand(`adapt decisions --workflow-id ${workflowId}`)}\n\n`,
  );
}

/** The light demo: the video pipeline on the bursty trace, decisions applied to the simulated actuator. */
export async function startSimulatedDemo(settings: TemporalSettings, uiUrl: string | undefined): Promise<Demo> {
  await startLoop(settings, DEMO_WORKFLOW_ID, DEMO_INPUT, 'video');
  await announce(settings, uiUrl, DEMO_WORKFLOW_ID, 'a decision every 10 s, simulated actuator');
  return { workflowId: DEMO_WORKFLOW_ID, stop: async () => {} };
}

/** Why the live testbed cannot run here, or undefined; sets the testbed up on first use. */
async function liveUnavailable(): Promise<string | undefined> {
  const noLimit = await cpuLimitUnavailable();
  if (noLimit) return noLimit;
  try {
    await findPrometheus();
  } catch (err) {
    return (err as Error).message;
  }
  process.stderr.write('  Setting up the MLServer testbed (first use: about a minute)…\n');
  try {
    await ensureTestbed();
  } catch (err) {
    return `the MLServer testbed could not be set up: ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/**
 * The live demo: the testbed pipeline on real MLServer replicas behind the gateway, a Prometheus
 * scraping it, the loop observing it and changing the replicas with the local actuator, and the
 * bursty pattern replayed against the gateway at this machine's scale (README, "Live pipeline").
 * Where it cannot run it says why in one line and the simulated demo runs instead.
 */
export async function startLiveDemo(settings: TemporalSettings, uiUrl: string | undefined, stateDir: string): Promise<Demo> {
  const why = await liveUnavailable();
  if (why) {
    process.stderr.write(`  The live demo cannot run here (${why}); running the simulated one.\n`);
    return startSimulatedDemo(settings, uiUrl);
  }
  const spec = await resolvePipelineSpec('testbed');
  // The busiest second this machine's cores carry: a fixed scale overloads a slower machine.
  const peakRps = livePeakRps(spec, await resolveProfileSet(spec.profiles ?? spec.name)) ?? DEFAULT_INITIAL_RPS;
  const dir = liveRoot(join(stateDir, 'live'));
  const up = await bringUp('testbed', dir, DEFAULT_INITIAL_RPS, { reuse: true });
  const input: AdaptInputFields = {
    pipeline: 'testbed',
    intervalSeconds: 10,
    observe: { kind: 'prometheus', url: up.prometheus.url, query: GATEWAY_LOAD_QUERY },
    actuator: { kind: 'local', stateDir: dir },
  };
  await startLoop(settings, LIVE_DEMO_WORKFLOW_ID, input, 'testbed');
  const loadStop = new AbortController();
  const load = (async () => {
    // The pattern again and again, until the demo stops.
    for (let round = 1; !loadStop.signal.aborted; round++) {
      const summary = await replayLoad({
        pipeline: 'testbed',
        url: up.gateway.url,
        source: { pattern: DEMO_LOAD.pattern },
        scale: { peakRps },
        speed: DEMO_LOAD.speed,
        arrivals: 'poisson',
        seed: round,
        slaMs: 200,
        signal: loadStop.signal,
      });
      log.info(
        { sent: summary.sent, ok: summary.ok, dropped: summary.dropped, errors: summary.errors, p99Ms: summary.p99Ms },
        `demo load round ${round} done: violations ${summary.violationsPercent} %`,
      );
    }
  })().catch((err: Error) => log.warn({ err: err.message }, 'demo load stopped'));
  process.stderr.write(
    `  Live pipeline: POST ${up.gateway.url}/v2/models/testbed/infer · metrics ${up.gateway.url}/metrics · Prometheus ${up.prometheus.url}\n` +
      `  Load: the bursty pattern at up to ${peakRps} requests/s, ${DEMO_LOAD.speed}× real time\n`,
  );
  await announce(settings, uiUrl, LIVE_DEMO_WORKFLOW_ID, 'a decision every 10 s on real MLServer replicas');
  return {
    workflowId: LIVE_DEMO_WORKFLOW_ID,
    stop: async () => {
      loadStop.abort();
      await load;
      // Cancelling the loop releases its replicas (on this worker, still polling); down stops the rest.
      await withClient((client) => client.workflow.getHandle(LIVE_DEMO_WORKFLOW_ID).cancel(), settings).catch(() => {});
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await readReplicas('testbed', dir)).replicas.length > 0)
        await new Promise((r) => setTimeout(r, 250));
      await bringDown('testbed', dir, { cancelLoops: false });
      log.info('live demo stopped: replicas, gateway and Prometheus');
    },
  };
}
