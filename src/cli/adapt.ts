import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { readJsonFile } from '../io/jsonFile.js';
import { resolvePipelineSpec } from '../io/load.js';
import { type AdaptInputFields, forecastMethod, parseAdaptInput } from '../model/adaptInput.js';
import { LOOP_POLICIES } from '../model/policyName.js';
import { PAS_METHODS } from '../model/settings.js';
import { readDecisions } from '../temporal/decisionHistory.js';
import { TASK_QUEUES } from '../temporal/taskQueues.js';
import { adaptPipeline } from '../workflows/adaptPipeline.js';
import {
  decisionsQuery,
  pauseSignal,
  reloadProfilesSignal,
  resumeSignal,
  setObjectiveSignal,
  setSlaSignal,
  slaUpdate,
  statusQuery,
} from '../workflows/messages.js';
import { IpaPipeline, IpaSlaMs } from '../workflows/searchAttributes.js';
import { renderRecords, renderStatus } from './adaptView.js';
import { withClient } from './client.js';
import { ipaCommand } from './commandHints.js';
import { flagError, numberFlag, oneOf, positiveIntFlag, positiveNumberFlag } from './flags.js';

interface StartFlags {
  pipeline?: string;
  input?: string;
  workflowId?: string;
  profiles?: string;
  slaMs?: string;
  interval?: string;
  forecaster?: string;
  actuator?: string;
  dryRunLog?: string;
  namespace?: string[];
  stateDir?: string;
  observe?: string;
  query?: string;
  prometheusUrl?: string;
  trace?: string;
  traceStart?: string;
  speed?: string;
  damp?: string;
  policy?: string;
  peakRps?: string;
  hpaTarget?: string;
  hpaStabilization?: string;
}

/** The workflow input from flags (over an optional --input JSON file), validated before anything starts. */
async function inputFromFlags(flags: StartFlags): Promise<AdaptInputFields> {
  const base = (flags.input ? await readJsonFile(flags.input) : {}) as Record<string, unknown>;
  const pipeline = flags.pipeline ?? base.pipeline;
  if (pipeline === undefined) throw flagError('--pipeline', 'required (a name under profiles/pipelines/, a file, or --input FILE)');
  const observeKind = oneOf('--observe', flags.observe, ['trace', 'prometheus'] as const);
  const observe =
    observeKind === 'prometheus'
      ? { kind: 'prometheus', ...(flags.prometheusUrl ? { url: flags.prometheusUrl } : {}), ...(flags.query ? { query: flags.query } : {}) }
      : observeKind === 'trace' || flags.trace || flags.traceStart || flags.speed
        ? {
            kind: 'trace',
            ...(flags.trace ? { file: flags.trace } : {}),
            ...(flags.traceStart ? { start: numberFlag('--trace-start', flags.traceStart, { integer: true }) } : {}),
            ...(flags.speed ? { speed: positiveNumberFlag('--speed', flags.speed) } : {}),
            ...(flags.damp ? { damp: positiveNumberFlag('--damp', flags.damp) } : {}),
          }
        : base.observe;
  const actuatorKind = oneOf('--actuator', flags.actuator, ['dry-run', 'simulated', 'kubernetes', 'local'] as const);
  const actuator =
    actuatorKind === 'kubernetes'
      ? { kind: 'kubernetes', namespaces: flags.namespace ?? [] }
      : actuatorKind === 'local'
        ? { kind: 'local', ...(flags.stateDir ? { stateDir: flags.stateDir } : {}) }
        : actuatorKind
          ? { kind: actuatorKind, ...(flags.dryRunLog ? { log: flags.dryRunLog } : {}) }
          : flags.dryRunLog
            ? { kind: 'dry-run', log: flags.dryRunLog }
            : base.actuator;
  const hpa =
    flags.hpaTarget || flags.hpaStabilization
      ? {
          ...(base.hpa as object | undefined),
          ...(flags.hpaTarget ? { target: positiveNumberFlag('--hpa-target', flags.hpaTarget) } : {}),
          ...(flags.hpaStabilization ? { stabilizationSeconds: numberFlag('--hpa-stabilization', flags.hpaStabilization) } : {}),
        }
      : undefined;
  const input = {
    ...base,
    pipeline,
    ...(flags.profiles ? { profiles: flags.profiles } : {}),
    ...(flags.slaMs ? { slaMs: positiveNumberFlag('--sla-ms', flags.slaMs) } : {}),
    ...(flags.interval ? { intervalSeconds: positiveNumberFlag('--interval', flags.interval) } : {}),
    ...(flags.forecaster ? { forecaster: oneOf('--forecaster', flags.forecaster, forecastMethod.options) } : {}),
    ...(observe ? { observe } : {}),
    ...(actuator ? { actuator } : {}),
    ...(flags.policy ? { policy: oneOf('--policy', flags.policy, LOOP_POLICIES) } : {}),
    ...(flags.peakRps ? { peakRps: positiveNumberFlag('--peak-rps', flags.peakRps) } : {}),
    ...(hpa ? { hpa } : {}),
  };
  parseAdaptInput(input, 'adaptPipeline input');
  return input as AdaptInputFields;
}

function print(value: unknown, json: boolean | undefined, text: () => string): void {
  process.stdout.write(`${json ? JSON.stringify(value, null, 2) : text()}\n`);
}

function steerCommand(parent: Command, name: string, description: string, body: (client: Client, id: string) => Promise<string>): void {
  parent
    .command(`${name} <workflow-id>`)
    .description(description)
    .action(async (id: string) => {
      process.stdout.write(`${await withClient((client) => body(client, id))}\n`);
    });
}

export function registerAdaptCommand(program: Command): void {
  const adapt = program.command('adapt').description('the adaptation loop: start one per pipeline, steer it, read its decisions');

  adapt
    .command('start')
    .description('start an adaptPipeline workflow on ipa-adapt')
    .option('--pipeline <spec>', 'pipeline: name under profiles/pipelines/ or a spec file')
    .option('--input <file>', 'a JSON file with the whole workflow input (flags override it)')
    .option('--workflow-id <id>', 'workflow id (default: adapt-<pipeline>)')
    .option('--profiles <set>', 'profile set: version, name or file (default: the spec’s)')
    .option('--sla-ms <ms>', 'starting SLA (default: the spec’s)')
    .option('--interval <seconds>', 'seconds between steps (default 10)')
    .option('--forecaster <method>', 'auto, lstm, reactive, max, mean (default auto)')
    .option('--actuator <kind>', 'dry-run, simulated, kubernetes or local (default dry-run)')
    .option('--namespace <ns...>', 'namespaces the kubernetes actuator may act in (KUBECONFIG on the worker)')
    .option('--state-dir <dir>', 'live pipelines’ state folder of the local actuator (default: the worker’s IPA_LIVE_DIR or .ipa/live)')
    .option('--dry-run-log <file>', 'append each applied decision to this JSON-lines file')
    .option('--observe <source>', 'trace or prometheus (default trace)')
    .option('--query <promql>', 'PromQL template, $pipeline replaced by the name (prometheus source)')
    .option('--prometheus-url <url>', 'Prometheus base URL (default: the worker’s PROMETHEUS_URL)')
    .option('--trace <file>', 'per-second loads to replay (default: the Twitter trace)')
    .option('--trace-start <second>', 'trace second the replay starts at (default 120)')
    .option('--speed <factor>', 'trace seconds per real second (default 1)')
    .option('--damp <factor>', 'divide the trace’s loads by this (IPA used 8)')
    .option('--policy <name>', `who decides: ${LOOP_POLICIES.join(', ')} (default ipa)`)
    .option('--peak-rps <n>', 'the load rim, static and hpa size their fixed part for (required by them)')
    .option('--hpa-target <fraction>', 'hpa: target utilisation of a replica’s profiled throughput (default 0.7)')
    .option('--hpa-stabilization <seconds>', 'hpa: scale-down stabilisation window (default 300)')
    .action(async (flags: StartFlags) => {
      const input = await inputFromFlags(flags);
      const name = typeof input.pipeline === 'string' ? (await resolvePipelineSpec(input.pipeline)).name : String(input.pipeline.name);
      const workflowId = flags.workflowId ?? `adapt-${name}`;
      const handle = await withClient((client) =>
        client.workflow.start(adaptPipeline, {
          taskQueue: TASK_QUEUES.adapt,
          workflowId,
          args: [input],
          typedSearchAttributes: [
            { key: IpaPipeline, value: name },
            ...(input.slaMs ? [{ key: IpaSlaMs, value: Math.round(input.slaMs) }] : []),
          ],
        }),
      );
      process.stdout.write(
        [
          `started ${handle.workflowId} (run ${handle.firstExecutionRunId})`,
          `  status:    ${await ipaCommand(`adapt status ${workflowId}`)}`,
          `  decisions: ${await ipaCommand(`adapt decisions --workflow-id ${workflowId}`)}`,
          `  SLA:       ${await ipaCommand(`adapt sla ${workflowId} 200`)}`,
          '',
        ].join('\n'),
      );
    });

  adapt
    .command('sla <workflow-id> <ms>')
    .description('change the SLA and run a step at once (update updateSla); prints the new decision')
    .option('--signal', 'send the setSla signal instead: takes effect at the next step, prints nothing')
    .option('--json', 'print the decision record as JSON')
    .action(async (id: string, ms: string, opts: { signal?: boolean; json?: boolean }) => {
      const slaMs = positiveNumberFlag('<ms>', ms) as number;
      await withClient(async (client) => {
        const handle = client.workflow.getHandle(id);
        if (opts.signal) {
          await handle.signal(setSlaSignal, { slaMs });
          process.stdout.write(`sent setSla ${slaMs} ms to ${id}\n`);
          return;
        }
        const record = await handle.executeUpdate(slaUpdate, { args: [{ slaMs }] });
        print(record, opts.json, () => renderRecords([record]));
      });
    });

  adapt
    .command('objective <workflow-id>')
    .description('change objective weights or the PAS method (signal setObjective)')
    .option('--alpha <n>', 'weight of PAS')
    .option('--beta <n>', 'weight of cost')
    .option('--gamma <n>', 'weight of Σ batch')
    .option('--accuracy <method>', 'sum, average or multiply')
    .action(async (id: string, opts: { alpha?: string; beta?: string; gamma?: string; accuracy?: string }) => {
      const payload = {
        ...(opts.alpha ? { alpha: numberFlag('--alpha', opts.alpha) } : {}),
        ...(opts.beta ? { beta: numberFlag('--beta', opts.beta) } : {}),
        ...(opts.gamma ? { gamma: numberFlag('--gamma', opts.gamma) } : {}),
        ...(opts.accuracy ? { accuracy: oneOf('--accuracy', opts.accuracy, PAS_METHODS) } : {}),
      };
      if (Object.keys(payload).length === 0) throw flagError('--alpha', 'give at least one of --alpha, --beta, --gamma, --accuracy');
      await withClient((client) => client.workflow.getHandle(id).signal(setObjectiveSignal, payload));
      process.stdout.write(`sent setObjective ${JSON.stringify(payload)} to ${id}\n`);
    });

  steerCommand(adapt, 'pause', 'stop adapting (signal pause); the running config stays', async (client, id) => {
    await client.workflow.getHandle(id).signal(pauseSignal);
    return `paused ${id}`;
  });
  steerCommand(adapt, 'resume', 'adapt again, starting with a step at once (signal resume)', async (client, id) => {
    await client.workflow.getHandle(id).signal(resumeSignal);
    return `resumed ${id}`;
  });

  steerCommand(
    adapt,
    'stop',
    'cancel the loop; the running config stays (the local actuator’s replicas are stopped)',
    async (client, id) => {
      await client.workflow.getHandle(id).cancel();
      return `cancelled ${id}`;
    },
  );

  adapt
    .command('reload <workflow-id>')
    .description('switch to another profile set, or the newest of the spec’s (signal reloadProfiles)')
    .option('--version <ref>', 'profile-set version, name or file')
    .action(async (id: string, opts: { version?: string }) => {
      await withClient((client) =>
        client.workflow.getHandle(id).signal(reloadProfilesSignal, opts.version ? { version: opts.version } : {}),
      );
      process.stdout.write(`sent reloadProfiles to ${id}\n`);
    });

  adapt
    .command('status <workflow-id>')
    .description('current config, SLA, weights, paused, step count and last decision (query status)')
    .option('--json', 'print the status as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const s = await withClient((client) => client.workflow.getHandle(id).query(statusQuery));
      print(s, opts.json, () => renderStatus(s));
    });

  adapt
    .command('decisions')
    .description('every decision of a loop, across its continue-as-new runs, read from the event history')
    .requiredOption('--workflow-id <id>', 'the adaptPipeline workflow')
    .option('--limit <n>', 'only the last n decisions')
    .option('--recent', 'ask the running workflow (query decisions) instead of reading the history')
    .option('--json', 'print the records as JSON')
    .option('--table', 'print a table (the default)')
    .action(async (opts: { workflowId: string; limit?: string; recent?: boolean; json?: boolean }) => {
      const limit = opts.limit ? positiveIntFlag('--limit', opts.limit) : undefined;
      const records = await withClient(async (client) =>
        opts.recent
          ? (await client.workflow.getHandle(opts.workflowId).query(decisionsQuery, { limit: limit ?? 500 })).reverse()
          : readDecisions(client, opts.workflowId),
      );
      const shown = limit ? records.slice(-limit) : records;
      print(shown, opts.json, () => renderRecords(shown));
    });
}
