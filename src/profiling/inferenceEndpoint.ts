import { readFile } from 'node:fs/promises';
import { pollUntil } from '../common/pollUntil.js';
import { seededRandom } from '../common/seededRandom.js';

/**
 * One model behind an Open Inference Protocol v2 HTTP API (MLServer, Triton, KServe, Seldon).
 * `baseUrl` is the server root, e.g. `http://127.0.0.1:8080`.
 */
export interface InferenceEndpoint {
  baseUrl: string;
  model: string;
  /** Model version; the server's default version when absent. */
  version?: string;
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/** `GET /v2/models/{name}` as the protocol defines it (only the fields used here). */
export interface ModelMetadata {
  name: string;
  platform?: string;
  versions?: string[];
  inputs?: TensorMetadata[];
  outputs?: TensorMetadata[];
}

export interface InferenceTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | string | boolean)[];
}

/** The body of `POST /v2/models/{name}/infer`. */
export interface InferenceRequest {
  inputs: InferenceTensor[];
  outputs?: { name: string }[];
}

/** Checks the URL up front so a typo fails with the value, not as a fetch error per request. */
export function checkEndpoint(endpoint: InferenceEndpoint): InferenceEndpoint {
  let url: URL;
  try {
    url = new URL(endpoint.baseUrl);
  } catch {
    throw new Error(`endpoint.baseUrl must be an http(s) URL, got ${JSON.stringify(endpoint.baseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`endpoint.baseUrl must be an http(s) URL, got ${JSON.stringify(endpoint.baseUrl)}`);
  }
  if (typeof endpoint.model !== 'string' || endpoint.model.trim() === '') {
    throw new Error(`endpoint.model must be a model name, got ${JSON.stringify(endpoint.model)}`);
  }
  return endpoint;
}

function modelPath(endpoint: InferenceEndpoint): string {
  const base = endpoint.baseUrl.replace(/\/+$/, '');
  const version = endpoint.version ? `/versions/${encodeURIComponent(endpoint.version)}` : '';
  return `${base}/v2/models/${encodeURIComponent(endpoint.model)}${version}`;
}

export function inferUrl(endpoint: InferenceEndpoint): string {
  return `${modelPath(endpoint)}/infer`;
}

/** True when the server answers `GET /v2/health/ready` with 200 (false on any failure). */
export async function serverReady(baseUrl: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/v2/health/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** True when the model answers `GET /v2/models/{name}/ready` with 200. */
export async function modelReady(endpoint: InferenceEndpoint, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(`${modelPath(endpoint)}/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Polls until the server and the model answer ready (true), the time runs out or `gaveUp` says
 * the server is gone (false). Rejects with the signal's reason once it is aborted.
 */
export async function waitUntilReady(
  endpoint: InferenceEndpoint,
  options: { timeoutMs: number; signal?: AbortSignal; gaveUp?: () => boolean },
): Promise<boolean> {
  const ready = await pollUntil(async () => (await serverReady(endpoint.baseUrl, 1000)) && (await modelReady(endpoint, 1000)), {
    timeoutMs: options.timeoutMs,
    everyMs: 250,
    ...(options.gaveUp ? { stopped: options.gaveUp } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return ready === 'done';
}

export async function fetchModelMetadata(endpoint: InferenceEndpoint, timeoutMs = 5000): Promise<ModelMetadata> {
  checkEndpoint(endpoint);
  const url = modelPath(endpoint);
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as ModelMetadata;
}

const integerTypes = new Set(['INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);
const floatTypes = new Set(['FP16', 'FP32', 'FP64', 'BF16']);

/**
 * A request with one random tensor per declared input; `-1` dimensions become `batchSize`.
 * Values are small non-negative numbers (0–16, the range of 8×8 digit pixels): real enough for
 * tabular and image models whose cost does not depend on the values.
 */
export function payloadFromMetadata(
  metadata: ModelMetadata,
  options: { batchSize: number; seed?: number; outputs?: string[] },
): InferenceRequest {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be an integer ≥ 1, got ${batchSize}`);
  if (!metadata.inputs || metadata.inputs.length === 0) {
    throw new Error(
      `model ${metadata.name} declares no inputs in its metadata (inputs: ${JSON.stringify(metadata.inputs)}); pass a sample file`,
    );
  }
  const random = seededRandom(options.seed ?? 1);
  const inputs = metadata.inputs.map((input): InferenceTensor => {
    const shape = input.shape.map((dim) => (dim === -1 ? batchSize : dim));
    if (shape.some((dim) => !Number.isInteger(dim) || dim < 0)) {
      throw new Error(`input ${input.name} of model ${metadata.name} has an unusable shape ${JSON.stringify(input.shape)}`);
    }
    const size = shape.reduce((product, dim) => product * dim, 1);
    const datatype = input.datatype.toUpperCase();
    let value: () => number | string | boolean;
    if (floatTypes.has(datatype)) value = () => Math.round(random() * 16 * 1000) / 1000;
    else if (integerTypes.has(datatype)) value = () => Math.floor(random() * 16);
    else if (datatype === 'BOOL') value = () => random() < 0.5;
    else if (datatype === 'BYTES') value = () => `x${Math.floor(random() * 1e6)}`;
    else throw new Error(`input ${input.name} of model ${metadata.name} has an unknown datatype ${JSON.stringify(input.datatype)}`);
    return { name: input.name, datatype, shape, data: Array.from({ length: size }, value) };
  });
  return options.outputs ? { inputs, outputs: options.outputs.map((name) => ({ name })) } : { inputs };
}

/** A recorded request body (JSON with an `inputs` array), sent as is. */
export async function payloadFromFile(path: string): Promise<InferenceRequest> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<InferenceRequest>;
  if (!Array.isArray(parsed.inputs) || parsed.inputs.length === 0) {
    throw new Error(
      `sample file ${path} must hold an inference request with a non-empty inputs array, got inputs ${JSON.stringify(parsed.inputs)}`,
    );
  }
  return parsed as InferenceRequest;
}
