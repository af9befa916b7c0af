import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startServerProcess } from '../profiling/serverProcess.js';
import { freePort } from '../tooling/freePort.js';

/**
 * The values a server command template may use: `{port}` (the HTTP port it must serve OIP v2 on,
 * at 127.0.0.1), `{model}` (the variant: the model name it must serve), `{batch}` and
 * `{batchTimeoutMs}` (its batching), `{dir}` (a folder of its own).
 */
export const COMMAND_PLACEHOLDERS = ['port', 'model', 'batch', 'batchTimeoutMs', 'dir'] as const;

export interface CommandServerOptions {
  command: string[];
  variant: string;
  batch: number;
  batchTimeoutMs: number;
  workDir: string;
  cores?: number[];
  cpuLimit?: number;
  readyTimeoutMs: number;
}

/** Fills a command template's placeholders; an unknown one is an error naming it. */
export function fillCommand(template: string[], values: Record<(typeof COMMAND_PLACEHOLDERS)[number], string>): string[] {
  return template.map((part) =>
    part.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => {
      if (!(COMMAND_PLACEHOLDERS as readonly string[]).includes(name)) {
        throw new Error(
          `unknown placeholder ${whole} in server command ${JSON.stringify(template)}; known: ${COMMAND_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
        );
      }
      return values[name as (typeof COMMAND_PLACEHOLDERS)[number]];
    }),
  );
}

/**
 * Starts a user's OIP v2 model server from its command template, like the testbed's MLServer:
 * in its own process group that outlives this process (a restarted worker adopts it), its output
 * in `server.log`, pinned or CPU-limited as its shape says, and resolves once its model answers ready.
 */
export async function startCommandServer(
  options: CommandServerOptions,
): Promise<{ url: string; model: string; pgid: number; cgroup?: string }> {
  await mkdir(options.workDir, { recursive: true });
  const port = await freePort();
  const filled = fillCommand(options.command, {
    port: String(port),
    model: options.variant,
    batch: String(options.batch),
    batchTimeoutMs: String(options.batchTimeoutMs),
    dir: options.workDir,
  });
  const url = `http://127.0.0.1:${port}`;
  const started = await startServerProcess({
    command: filled,
    endpoint: { baseUrl: url, model: options.variant },
    ...(options.cores ? { cores: options.cores } : {}),
    ...(options.cpuLimit !== undefined ? { cpuLimit: options.cpuLimit } : {}),
    limitName: `${options.variant}-${port}`,
    cwd: options.workDir,
    env: process.env,
    logFile: join(options.workDir, 'server.log'),
    readyTimeoutMs: options.readyTimeoutMs,
  });
  if (!started.ready) {
    const { why, output } = started;
    throw new Error(
      `server command ${JSON.stringify(filled)} for ${options.variant} on ${url} ${why}${output ? `:\n${output.slice(-2000)}` : ''}`,
    );
  }
  return { url, model: options.variant, pgid: started.group.pgid, ...(started.cgroup ? { cgroup: started.cgroup } : {}) };
}
