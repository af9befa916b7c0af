import { pipelineSpecOf } from '../io/load.js';
import { type ProfileJob, parseProfilingRequest, queueOfShape } from '../model/profilingRun.js';
import { ValidationError } from '../model/validation.js';

/** A profiling run checked and broken into children; what the parent workflow iterates over. */
export interface ProfilingPlan {
  pipeline: string;
  /** The profile set written. */
  name: string;
  jobs: ProfileJob[];
  parallelism: { cpu: number; gpu: number };
  accuracy: Record<string, number>;
  reload: boolean;
}

/** Validates a profilePipeline input and lists its (stage, variant, shape) children. */
export async function profilingPlanOf(input: unknown): Promise<ProfilingPlan> {
  const { pipeline, shapes, variants, endpoints, accuracy, parallelism, name, reload, ...settings } = parseProfilingRequest(input);
  const spec = await pipelineSpecOf(pipeline);
  const inPipeline = new Set(spec.stages.flatMap((s) => s.variants));
  const issues = [
    ...(variants ?? [])
      .filter((v) => !inPipeline.has(v))
      .map((v) => ({ path: 'variants', message: `${JSON.stringify(v)} is not a variant of pipeline ${spec.name}` })),
    ...Object.keys(endpoints)
      .filter((v) => !inPipeline.has(v))
      .map((v) => ({ path: `endpoints.${v}`, message: `${JSON.stringify(v)} is not a variant of pipeline ${spec.name}` })),
  ];
  if (issues.length > 0) throw new ValidationError('profilePipeline input', issues);
  const wanted = variants ? new Set(variants) : inPipeline;
  const jobs = spec.stages.flatMap((stage) =>
    stage.variants
      .filter((variant) => wanted.has(variant))
      .flatMap((variant) =>
        shapes.map(
          (shape): ProfileJob => ({
            stage: stage.name,
            task: stage.task,
            variant,
            shape,
            queue: queueOfShape(shape),
            ...(endpoints[variant] ? { endpoint: endpoints[variant] } : {}),
            settings,
          }),
        ),
      ),
  );
  return { pipeline: spec.name, name: name ?? spec.profiles ?? spec.name, jobs, parallelism, accuracy, reload };
}
