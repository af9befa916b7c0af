import type { InferenceTensor } from '../profiling/inferenceEndpoint.js';

/** A request body the gateway could not accept: `field` names the part that is wrong. */
export class BadRequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
    this.name = 'BadRequestError';
  }
}

/** What the gateway keeps of a client's `POST /v2/models/PIPELINE/infer` body. */
export interface PipelineRequest {
  id?: string;
  inputs: InferenceTensor[];
}

const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 80));

/** Parses and checks an OIP v2 inference request body; throws `BadRequestError` naming the field. */
export function parseInferenceRequest(body: string): PipelineRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new BadRequestError('body', `must be JSON (an OIP v2 inference request): ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequestError('body', `must be a JSON object with an inputs array, got ${show(parsed)}`);
  }
  const { id, inputs } = parsed as { id?: unknown; inputs?: unknown };
  if (id !== undefined && typeof id !== 'string') throw new BadRequestError('id', `must be a string, got ${show(id)}`);
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new BadRequestError('inputs', `must be a non-empty array of tensors, got ${show(inputs)}`);
  }
  for (const [i, tensor] of inputs.entries()) checkTensor(tensor, `inputs[${i}]`);
  return id === undefined ? { inputs: inputs as InferenceTensor[] } : { id, inputs: inputs as InferenceTensor[] };
}

function checkTensor(tensor: unknown, field: string): void {
  if (typeof tensor !== 'object' || tensor === null) throw new BadRequestError(field, `must be a tensor object, got ${show(tensor)}`);
  const { name, datatype, shape, data } = tensor as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') throw new BadRequestError(`${field}.name`, `must be a non-empty string, got ${show(name)}`);
  if (typeof datatype !== 'string' || datatype === '') {
    throw new BadRequestError(`${field}.datatype`, `must be an OIP v2 datatype such as "FP32", got ${show(datatype)}`);
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new BadRequestError(`${field}.shape`, `must be an array of non-negative integers, got ${show(shape)}`);
  }
  if (!Array.isArray(data)) throw new BadRequestError(`${field}.data`, `must be an array, got ${show(data)}`);
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (data.length !== size && !data.some(Array.isArray)) {
    throw new BadRequestError(`${field}.data`, `holds ${data.length} values but shape ${JSON.stringify(shape)} needs ${size}`);
  }
}

/**
 * The next stage's inputs from this stage's outputs: output i becomes input i, renamed to the
 * name the next model declares (`GET /v2/models/NAME` → `inputs[i].name`), keeping datatype,
 * shape and data. MLServer's sklearn runtime, for one, answers `transform` or `predict` while
 * the next model expects `input-0`. Without declared inputs the names are kept as they are.
 */
export function chainTensors(outputs: InferenceTensor[], nextInputNames: string[] | undefined): InferenceTensor[] {
  if (!nextInputNames || nextInputNames.length === 0)
    return outputs.map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data }));
  if (outputs.length !== nextInputNames.length) {
    throw new Error(
      `stage answered ${outputs.length} output tensor(s) (${outputs.map((o) => o.name).join(', ')}) but the next model declares ${nextInputNames.length} input(s) (${nextInputNames.join(', ')})`,
    );
  }
  return outputs.map(({ datatype, shape, data }, i) => ({ name: nextInputNames[i] as string, datatype, shape, data }));
}

/** Checks a replica's answer has an `outputs` array of tensors; throws naming what is wrong. */
export function outputsOf(answer: unknown, where: string): InferenceTensor[] {
  const outputs = (answer as { outputs?: unknown } | null)?.outputs;
  if (!Array.isArray(outputs) || outputs.length === 0) {
    throw new Error(`${where} answered without an outputs array: ${JSON.stringify(answer)?.slice(0, 200)}`);
  }
  return outputs as InferenceTensor[];
}
