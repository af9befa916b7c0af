import { z } from 'zod';
import { dnsLabel, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './fields.js';
import { objectiveWeights, pasMethod } from './pipelineSpec.js';
import { LOOP_POLICIES, PEAK_SIZED } from './policyName.js';
import { parseWith, ValidationError, type ValidationIssue } from './validation.js';

/** Replays a recorded workload: per-second loads from the Twitter trace, a file, or inline. */
const traceSource = z.strictObject({
  kind: z.literal('trace'),
  /** A file of per-second loads (one per line, optionally .gz, or a JSON array); the Twitter trace when absent. */
  file: z.string().min(1).optional(),
  /** Inline per-second loads, for tests and short demos (kept small: they travel in the history). */
  loads: z.array(nonNegativeNumber).min(1).max(10_000).optional(),
  /** The trace second that replay starts at (the window then ends there). */
  start: nonNegativeInt.default(120),
  /** Trace seconds per real second: 30 replays half a minute of trace every second. */
  speed: positiveNumber.default(1),
  /** Divide every load by this, as IPA damped the Twitter trace by 8. */
  damp: positiveNumber.default(1),
});

/** The production source: a PromQL range query over the last 120 s at a 1 s step. */
const prometheusSource = z.strictObject({
  kind: z.literal('prometheus'),
  /** PROMETHEUS_URL of the worker when absent. */
  url: z.url().optional(),
  /** `$pipeline` is replaced by the pipeline's name; must aggregate to one series. */
  query: z.string().min(1).optional(),
});

export const observeSource = z.discriminatedUnion('kind', [traceSource, prometheusSource]);
export type ObserveSource = z.output<typeof observeSource>;

/** Where decisions go. */
const dryRunActuator = z.strictObject({
  kind: z.literal('dry-run'),
  /** A JSON-lines file that every applied decision is appended to, once per decision id. */
  log: z.string().min(1).optional(),
});
const simulatedActuator = z.strictObject({ kind: z.literal('simulated') });

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name');

/** Stage Deployments labelled `ipa.io/pipeline` and `ipa.io/stage`, in the namespaces listed only. */
const kubernetesActuator = z.strictObject({
  kind: z.literal('kubernetes'),
  namespaces: z.array(dnsLabel).min(1, 'name the namespaces ipa may act in'),
  /** The model container's env names (MLServer's by default). */
  env: z
    .strictObject({
      variant: envName.default('MODEL_VARIANT'),
      maxBatchSize: envName.default('MLSERVER_MODEL_MAX_BATCH_SIZE'),
      maxBatchTime: envName.default('MLSERVER_MODEL_MAX_BATCH_TIME'),
    })
    .default({ variant: 'MODEL_VARIANT', maxBatchSize: 'MLSERVER_MODEL_MAX_BATCH_SIZE', maxBatchTime: 'MLSERVER_MODEL_MAX_BATCH_TIME' }),
  /** The container that serves the model; the first one when absent. */
  container: dnsLabel.optional(),
  /** How long apply waits for new pods to be ready before it reports what is. */
  rolloutTimeoutSeconds: positiveNumber.max(3600).default(120),
});

/** Model-server processes on the worker's own machine, behind the live pipeline's gateway (`ipa live up`). */
const localActuator = z.strictObject({
  kind: z.literal('local'),
  /** The live pipelines' state folder (replicas, gateway); IPA_LIVE_DIR or the project's .ipa/live when absent. */
  stateDir: z.string().min(1).optional(),
  /** Time a new replica has to answer ready before the change is given up (and its new replicas stopped). */
  readyTimeoutSeconds: positiveNumber.max(600).default(120),
  /** Longest wait for a replica taken out of routing to finish its requests before it is stopped. */
  drainTimeoutSeconds: positiveNumber.max(600).default(30),
  /**
   * Your own OIP v2 model servers: per variant, the command that serves it, with `{port}`,
   * `{model}`, `{batch}`, `{batchTimeoutMs}` and `{dir}` filled in. Variants not listed run on
   * the MLServer testbed.
   */
  servers: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).optional(),
});

export const actuatorSpec = z.discriminatedUnion('kind', [dryRunActuator, simulatedActuator, kubernetesActuator, localActuator]);
export type LocalActuatorSpec = z.output<typeof localActuator>;
export type KubernetesActuatorSpec = z.output<typeof kubernetesActuator>;
export type ActuatorSpec = z.output<typeof actuatorSpec>;

const byName = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (typeof value === 'string' ? { kind: value } : value), schema);

/**
 * The forecast methods: `auto` (the LSTM, with fallbacks), `lstm` alone, or one of the fallbacks
 * that need no model. The one list: src/forecast derives its methods from it.
 */
export const forecastMethod = z.enum(['auto', 'lstm', 'reactive', 'max', 'mean']);
export type ForecastMethod = z.output<typeof forecastMethod>;

/** The input of `adaptPipeline`, as users give it (CLI, `temporal workflow start --input`). */
export const adaptInputSchema = z.strictObject({
  /** A pipeline name (profiles/pipelines/NAME.json), a path to a spec, or the spec inline. */
  pipeline: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  /** Profile-set version, name or path; the spec's `profiles` when absent. */
  profiles: z.string().min(1).optional(),
  intervalSeconds: positiveNumber.default(10),
  forecaster: forecastMethod.default('auto'),
  /** Provision for the forecast itself or for its upper band (which under-predicts far less often). */
  provision: z.enum(['forecast', 'upper']).default('upper'),
  observe: byName(observeSource).default({ kind: 'trace', start: 120, speed: 1, damp: 1 }),
  actuator: byName(actuatorSpec).default({ kind: 'dry-run' }),
  /** Starting SLA and weights; the spec's when absent. */
  slaMs: positiveNumber.optional(),
  objective: objectiveWeights.partial().extend({ accuracy: pasMethod.optional() }).optional(),
  /** Who decides each step: ipa's optimizer (default), a baseline, or the HPA's rule (src/adapt/policy.ts). */
  policy: z.enum(LOOP_POLICIES).default('ipa'),
  /** The load, requests/s, that rim, static and hpa size their fixed part for; they require it. */
  peakRps: positiveNumber.optional(),
  /** The HPA's settings (policy hpa): target utilisation, scale-down stabilisation, replica limits. */
  hpa: z
    .strictObject({
      target: z.number().gt(0).max(1).optional(),
      tolerance: z.number().min(0).lt(1).optional(),
      stabilizationSeconds: z.number().nonnegative().optional(),
      minReplicas: positiveInt.optional(),
      maxReplicas: positiveInt.optional(),
    })
    .optional(),
  /** Continue as new after this many steps (each is about 20 history events). */
  maxStepsPerRun: positiveInt.max(2000).default(250),
  /** How many recent decisions the workflow keeps for its `decisions` query. */
  keepDecisions: positiveInt.max(500).default(50),
  /** Whether to keep the IpaPipeline/IpaSlaMs search attributes current (needs them registered). */
  searchAttributes: z.boolean().default(true),
});

export type AdaptInputFields = z.input<typeof adaptInputSchema>;
export type AdaptOptions = z.output<typeof adaptInputSchema>;

export function parseAdaptInput(input: unknown, source = 'adaptPipeline input'): AdaptOptions {
  const options = parseWith(adaptInputSchema, input, source);
  const issues: ValidationIssue[] = [];
  if (PEAK_SIZED.includes(options.policy) && options.peakRps === undefined) {
    issues.push({ path: 'peakRps', message: `required by policy ${options.policy}: the load its fixed part is sized for, requests/s` });
  }
  if (options.hpa && options.policy !== 'hpa') {
    issues.push({ path: 'hpa', message: `only for policy hpa, got policy ${JSON.stringify(options.policy)}` });
  }
  const { minReplicas, maxReplicas } = options.hpa ?? {};
  if (minReplicas !== undefined && maxReplicas !== undefined && minReplicas > maxReplicas) {
    issues.push({ path: 'hpa.minReplicas', message: `must be ≤ hpa.maxReplicas (${maxReplicas}), got ${minReplicas}` });
  }
  if (issues.length > 0) throw new ValidationError(source, issues);
  return options;
}
