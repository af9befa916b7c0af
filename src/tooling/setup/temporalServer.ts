import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { log } from '../../common/log.js';
import { isExecutable } from '../pypiBinary.js';
import { findGo, goEnv, runGo, withBuildLock } from './goBuild.js';
import { sharedLookup } from './sharedLookup.js';

const run = promisify(execFile);

/**
 * The Temporal server ipa's cluster tests run: the newest 1.32 patch release this machine's Go
 * (1.26.8) builds; v1.32.2 asks for Go 1.26.10.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.32.1';
const SERVER_MODULE = 'go.temporal.io/server';
/** The server and its SQL schema tool, as the release archives name them. */
const COMMANDS = { 'temporal-server': 'cmd/server', 'temporal-sql-tool': 'cmd/tools/sql' } as const;
type Command = keyof typeof COMMANDS;
/** The PostgreSQL schemas of the release, copied out of the module cache beside the binaries. */
const SCHEMA = 'schema/postgresql/v12';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** Holds `temporal/versioned` and `visibility/versioned`, for `temporal-sql-tool update-schema`. */
  postgresSchemaDir: string;
  version: string;
}

/** Outside the clone, as the Kubernetes binaries: a fresh clone on the same machine reuses a 6-minute build. */
export function temporalServerCacheDir(): string {
  const root = process.env.IPA_TEMPORAL_SERVER_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ipa');
  return join(root, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

const throwawayGoMod = () =>
  [
    '// Written by ipa setup to build the Temporal server from the Go module proxy; safe to delete.',
    'module ipa.local/temporal-server',
    '',
    'go 1.26.8',
    '',
    `require ${SERVER_MODULE} ${TEMPORAL_SERVER_VERSION}`,
    '',
  ].join('\n');

async function moduleDir(go: string, cwd: string): Promise<string> {
  const { stdout } = await run(go, ['mod', 'download', '-json', `${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`], {
    cwd,
    env: goEnv(''),
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: Error & { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const info = JSON.parse(stdout || '{}') as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`\`go mod download ${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}\` failed: ${info.Error ?? stdout}`);
  return info.Dir;
}

async function build(go: string, dir: string, commands: Command[]): Promise<void> {
  const module = join(dir, 'module');
  await mkdir(module, { recursive: true });
  await writeFile(join(module, 'go.mod'), throwawayGoMod());
  const staging = await mkdtemp(join(dir, 'bin', '.build-'));
  try {
    log.info(
      { commands, into: join(dir, 'bin') },
      `building the Temporal server ${TEMPORAL_SERVER_VERSION} (a first build takes about 6 minutes on 2 cores)`,
    );
    for (const command of commands) {
      await runGo(
        go,
        ['build', '-v', '-trimpath', '-ldflags=-s -w', '-o', join(staging, command), `${SERVER_MODULE}/${COMMANDS[command]}`],
        { cwd: module, env: goEnv('-mod=mod'), step: `temporal ${command}` },
      );
      await rename(join(staging, command), join(dir, 'bin', command));
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function missingIn(dir: string): Promise<Command[]> {
  const missing: Command[] = [];
  for (const command of Object.keys(COMMANDS) as Command[]) if (!(await isExecutable(join(dir, 'bin', command)))) missing.push(command);
  return missing;
}

const hasSchema = (dir: string) =>
  readFile(join(dir, SCHEMA, 'temporal', 'versioned', 'v1.0', 'manifest.json')).then(
    () => true,
    () => false,
  );

async function locate(install: boolean): Promise<TemporalServerBinaries> {
  const dir = temporalServerCacheDir();
  if ((await missingIn(dir)).length > 0 || !(await hasSchema(dir))) {
    if (!install) throw new Error(`no Temporal server ${TEMPORAL_SERVER_VERSION} in ${dir}: run \`ipa setup\` to build it`);
    const go = await findGo(`the Temporal server ${TEMPORAL_SERVER_VERSION}`);
    await mkdir(join(dir, 'bin'), { recursive: true });
    await withBuildLock(dir, 'the Temporal server', async () => {
      const missing = await missingIn(dir);
      if (missing.length > 0) await build(go, dir, missing);
      if (!(await hasSchema(dir))) {
        await cp(join(await moduleDir(go, dir), SCHEMA), join(dir, SCHEMA), { recursive: true });
        // The module cache is read-only; the copy should not be, or the cache folder cannot be deleted.
        await run('chmod', ['-R', 'u+w', join(dir, SCHEMA)]);
      }
    });
  }
  const server = join(dir, 'bin', 'temporal-server');
  // Asked rather than assumed, so a cache folder holding something else is noticed.
  const { stdout } = await run(server, ['--version']);
  const version = stdout.match(/version (\S+)/)?.[1];
  if (!version) throw new Error(`${server} --version printed no "version …": ${JSON.stringify(stdout.slice(0, 200))}`);
  return { server, sqlTool: join(dir, 'bin', 'temporal-sql-tool'), postgresSchemaDir: join(dir, SCHEMA), version };
}

/**
 * The Temporal server and its SQL schema tool: from the per-user cache, else built there from the
 * Go module proxy (unless `install` is false), with the release's PostgreSQL schema beside them.
 * Remembered per process.
 */
export const findTemporalServer: (options?: { install?: boolean }) => Promise<TemporalServerBinaries> = sharedLookup(
  (options: { install?: boolean } = {}) => locate(options.install ?? true),
);
