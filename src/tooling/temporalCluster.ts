import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { log } from '../common/log.js';
import { pollUntil } from '../common/pollUntil.js';
import { connectClient, type TemporalSettings, temporalSettingsFromEnv } from '../temporal/connection.js';
import { ensureSearchAttributes } from '../temporal/searchAttributes.js';
import { type Certificates, makeCertificates } from './certificates.js';
import { portIsFree } from './freePort.js';
import { logTail } from './logTail.js';
import { type ProcessGroup, startProcessGroup } from './processGroup.js';
import { findPostgres, type PostgresBinaries } from './setup/postgres.js';
import { findTemporalServer, type TemporalServerBinaries } from './setup/temporalServer.js';

const run = promisify(execFile);

/**
 * A Temporal server as production runs it, on one machine: the four services (frontend, history,
 * matching, worker) of `temporal-server` built from the Go module proxy, persistence and SQL
 * visibility on a PostgreSQL of its own, mTLS on the frontend and between the services with
 * certificates made for it. Everything lives in one folder and binds to 127.0.0.1.
 */
export interface TemporalCluster {
  address: string;
  namespace: string;
  certificates: Certificates;
  /** The documented TEMPORAL_* settings a worker, `ipa` or the `temporal` CLI connects with. */
  env: Record<string, string>;
  settings: TemporalSettings;
  dir: string;
  serverLog: string;
  postgresLog: string;
  /** The Temporal server's pid (its process group), changing with each start. */
  serverPid(): number;
  /** PostgreSQL's postmaster pid (its process group), changing with each start. */
  postgresPid(): number;
  /** Settles when the server running now exits, with its exit code. */
  serverExited(): Promise<number | null>;
  /** Stops the server (SIGTERM: graceful; SIGKILL: a crash) and waits until it is gone. */
  stopServer(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  startServer(): Promise<void>;
  /** Stops PostgreSQL (`fast`: clients disconnected, a clean checkpoint; `immediate`: as a crash). */
  stopPostgres(mode?: 'fast' | 'immediate'): Promise<void>;
  startPostgres(): Promise<void>;
  stop(): Promise<void>;
}

export interface TemporalClusterOptions {
  /**
   * The folder of PostgreSQL's data, the certificates, the config and the logs: empty for a new
   * cluster, or one an earlier start left (its `cluster.json`), whose database, namespace and
   * ports are kept.
   */
  dir: string;
  namespace?: string;
  /** The frontend's gRPC port (default: a free one below 32768, as the others). */
  frontendPort?: number;
  /** How long the server may take to answer after a start (default 120 s). */
  readyTimeoutMs?: number;
}

/**
 * A loopback port below 32768 nobody listens on now. The server stores each service's membership
 * port in a PostgreSQL smallint, and Linux hands out ephemeral ports from 32768 up.
 */
async function lowPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    if (await portIsFree(port)) {
      taken.add(port);
      return port;
    }
  }
}

/** PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user Debian's package made. */
async function asPostgresUser(): Promise<{ wrap: (command: string, args: string[]) => [string, string[]]; owner?: [number, number] }> {
  if (process.getuid?.() !== 0) return { wrap: (command, args) => [command, args] };
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  const owner: [number, number] = [await id('-u'), await id('-g')];
  return { wrap: (command, args) => ['runuser', ['-u', 'postgres', '--', command, ...args]], owner };
}

const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;

/** A frontend port asked of a folder whose cluster serves on another: its clients know the old one. */
export class ClusterPortError extends Error {
  constructor(
    readonly dir: string,
    readonly servesOn: number,
    readonly asked: number,
  ) {
    super(
      `frontendPort: the Temporal cluster in ${dir} serves on ${servesOn}, got ${asked} (ask for ${servesOn}, or delete the folder for a new cluster)`,
    );
    this.name = 'ClusterPortError';
  }
}

/** What a start writes once the database holds its schemas, so the next start on the folder keeps them. */
interface ClusterState {
  postgresPort: number;
  ports: Record<string, number>;
}
const STATE_FILE = 'cluster.json';

async function readClusterState(dir: string): Promise<ClusterState | undefined> {
  const text = await readFile(join(dir, STATE_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as ClusterState);
}

/** Ports for a new cluster: the frontend's as asked, the rest free ones below 32768. */
async function newPorts(frontendPort: number | undefined): Promise<ClusterState> {
  const taken = new Set<number>(frontendPort === undefined ? [] : [frontendPort]);
  const postgresPort = await lowPort(taken);
  const ports: Record<string, number> = { frontendHttp: await lowPort(taken) };
  for (const service of SERVICES) {
    ports[`${service}Grpc`] = service === 'frontend' && frontendPort !== undefined ? frontendPort : await lowPort(taken);
    ports[`${service}Membership`] = await lowPort(taken);
  }
  return { postgresPort, ports };
}

function serverConfig(dir: string, certs: Certificates, postgresPort: number, ports: Record<string, number>): string {
  const tls = (side: 'frontend' | 'internode') => `    ${side}:
      server: { certFile: ${certs.serverCert}, keyFile: ${certs.serverKey}, requireClientAuth: true, clientCaFiles: [${certs.ca}] }
      client: { serverName: ${certs.serverName}, rootCaFiles: [${certs.ca}] }`;
  const store = (database: string, conns: number) =>
    `sql: { pluginName: postgres12, databaseName: ${database}, connectAddr: "127.0.0.1:${postgresPort}", connectProtocol: tcp, ` +
    `user: temporal, password: temporal, maxConns: ${conns}, maxIdleConns: ${conns}, maxConnLifetime: 1h }`;
  const service = (name: (typeof SERVICES)[number]) =>
    `  ${name}: { rpc: { grpcPort: ${ports[`${name}Grpc`]}, membershipPort: ${ports[`${name}Membership`]}, bindOnLocalHost: true` +
    `${name === 'frontend' ? `, httpPort: ${ports.frontendHttp}` : ''} } }`;
  return `# Written by ipa's temporalCluster for a test; safe to delete with its folder (${dir}).
log: { stdout: true, level: warn }
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      ${store('temporal', 20)}
    visibility:
      ${store('temporal_visibility', 4)}
global:
  membership: { maxJoinDuration: 30s, broadcastAddress: "127.0.0.1" }
  tls:
${tls('internode')}
${tls('frontend')}
services:
${SERVICES.map(service).join('\n')}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active: { enabled: true, initialFailoverVersion: 1, rpcName: frontend, rpcAddress: "127.0.0.1:${ports.frontendGrpc}" }
dcRedirectionPolicy: { policy: noop }
`;
}

async function untilTrue(what: string, timeoutMs: number, probe: () => Promise<boolean>, explain: () => Promise<string>): Promise<void> {
  if ((await pollUntil(() => probe().catch(() => false), { timeoutMs, everyMs: 500 })) !== 'done') {
    throw new Error(`${what} within ${Math.round(timeoutMs / 1000)} s:\n${await explain()}`);
  }
}

/** Starts PostgreSQL, the schemas and the Temporal server in `options.dir`; `stop()` stops both. */
export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const { dir } = options;
  const namespace = options.namespace ?? 'default';
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const [postgres, temporal]: [PostgresBinaries, TemporalServerBinaries] = await Promise.all([findPostgres(), findTemporalServer()]);
  const user = await asPostgresUser();
  await mkdir(dir, { recursive: true });
  // The postgres user must reach its folder inside ours.
  await chmod(dir, 0o755);
  const pgDir = join(dir, 'postgres');
  const pgData = join(pgDir, 'data');
  await mkdir(pgDir, { recursive: true });
  if (user.owner) await chown(pgDir, ...user.owner);
  const [probe, probeArgs] = user.wrap('test', ['-w', pgDir]);
  await run(probe, probeArgs).catch(() => {
    throw new Error(`PostgreSQL's user cannot write ${pgDir}: a folder above it shuts others out (chmod o+x it, or choose another folder)`);
  });
  const earlier = await readClusterState(dir);
  if (earlier && options.frontendPort !== undefined && earlier.ports.frontendGrpc !== options.frontendPort) {
    throw new ClusterPortError(dir, earlier.ports.frontendGrpc as number, options.frontendPort);
  }
  const { postgresPort, ports } = earlier ?? (await newPorts(options.frontendPort));
  for (const [name, port] of [['postgres', postgresPort], ...Object.entries(ports)] as const) {
    if (!(await portIsFree(port))) {
      throw new Error(
        `port ${port} (${name}) of the Temporal cluster in ${dir} is in use: by another server, or one of this folder still running?`,
      );
    }
  }
  const certsDir = join(dir, 'certs');
  await mkdir(certsDir, { recursive: true });
  // Made anew at each start: they are valid for a day, and only this folder's server and clients use them.
  const certificates = await makeCertificates(certsDir);
  const address = `127.0.0.1:${ports.frontendGrpc}`;
  const serverLog = join(dir, 'temporal-server.log');
  const postgresLog = join(dir, 'postgres.log');

  if (!earlier) {
    // A start that failed before its schemas were in leaves a database nothing else uses: begin again.
    await rm(pgData, { recursive: true, force: true });
    const pwFile = join(pgDir, 'password');
    await writeFile(pwFile, 'temporal\n', { mode: 0o600 });
    if (user.owner) await chown(pwFile, ...user.owner);
    const [initdb, initdbArgs] = user.wrap(postgres.initdb, [
      '-D',
      pgData,
      '-U',
      'temporal',
      '--pwfile',
      pwFile,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--no-sync',
    ]);
    await run(initdb, initdbArgs);
  }

  let pg: ProcessGroup | undefined;
  const startPostgres = async () => {
    const [command, args] = user.wrap(postgres.postgres, [
      '-D',
      pgData,
      '-p',
      String(postgresPort),
      '-k',
      pgDir,
      '-c',
      'listen_addresses=127.0.0.1',
      // Commits durable as in production (synchronous_commit stays on): the crash test counts on
      // the server's acknowledged writes surviving PostgreSQL's immediate shutdown.
      '-c',
      'max_connections=200',
    ]);
    pg = startProcessGroup(command, args, { cwd: dir, env: process.env, logFile: postgresLog });
    const started = pg;
    await untilTrue(
      `PostgreSQL did not accept connections on 127.0.0.1:${postgresPort}`,
      60_000,
      async () => {
        if (started.hasExited()) throw new Error('exited');
        await run(postgres.psql, ['-h', '127.0.0.1', '-p', String(postgresPort), '-U', 'temporal', '-d', 'postgres', '-c', 'select 1'], {
          env: { ...process.env, PGPASSWORD: 'temporal' },
        });
        return true;
      },
      () => logTail(postgresLog),
    );
  };
  const stopPostgres = async (mode: 'fast' | 'immediate' = 'fast') => {
    const running = pg;
    if (!running || running.hasExited()) return;
    // SIGINT is PostgreSQL's fast shutdown, SIGQUIT its immediate one (a crash, recovered at the next start).
    process.kill(-running.pgid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    await Promise.race([running.exited, sleep(30_000, undefined, { ref: false })]);
    await running.stop(1_000);
  };

  let server: ProcessGroup | undefined;
  const configFile = join(dir, 'temporal-server.yaml');
  await writeFile(configFile, serverConfig(dir, certificates, postgresPort, ports));
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.ca,
    TEMPORAL_TLS_SERVER_NAME: certificates.serverName,
    TEMPORAL_TLS_CLIENT_CERT_PATH: certificates.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: certificates.clientKey,
  };
  const settings = temporalSettingsFromEnv(env) as TemporalSettings;
  const withConnection = async <T>(fn: (connection: Connection) => Promise<T>): Promise<T> => {
    const connection = await connectClient(settings);
    try {
      return await fn(connection);
    } finally {
      await connection.close();
    }
  };
  const launchServer = () => {
    server = startProcessGroup(temporal.server, ['--config-file', configFile, '--allow-no-auth', 'start'], {
      cwd: dir,
      env: process.env,
      logFile: serverLog,
    });
    return server;
  };
  /** Waits until `probe` holds on the server just launched, or says why not with its log. */
  const serverReady = (started: ProcessGroup, what: string, probe: (connection: Connection) => Promise<unknown>) =>
    untilTrue(
      `${what} on ${address}`,
      readyTimeoutMs,
      async () => {
        if (started.hasExited()) throw new Error('exited');
        await withConnection(probe);
        return true;
      },
      async () => `${started.hasExited() ? 'it exited; ' : ''}log ${serverLog}:\n${await logTail(serverLog)}`,
    );
  const startServer = () =>
    serverReady(launchServer(), 'the Temporal server did not answer', (c) => c.workflowService.describeNamespace({ namespace }));
  const stopServer = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const running = server;
    if (!running || running.hasExited()) return;
    if (signal === 'SIGKILL') process.kill(-running.pgid, 'SIGKILL');
    await running.stop(20_000);
  };
  const stop = async () => {
    await stopServer().catch((err: Error) => log.warn({ err: err.message }, 'the Temporal server did not stop'));
    await stopPostgres().catch((err: Error) => log.warn({ err: err.message }, 'PostgreSQL did not stop'));
  };

  try {
    await startPostgres();
    const sqlTool = (database: string, ...args: string[]) =>
      run(
        temporal.sqlTool,
        ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(postgresPort), '-u', 'temporal', '--db', database, ...args],
        {
          env: { ...process.env, SQL_PASSWORD: 'temporal' },
        },
      );
    for (const [database, schema] of [
      ['temporal', 'temporal'],
      ['temporal_visibility', 'visibility'],
    ] as const) {
      if (!earlier) {
        await sqlTool(database, 'create-database');
        await sqlTool(database, 'setup-schema', '-v', '0.0');
      }
      // Applies only the versions the database lacks: a kept database meets a newer server's schema.
      await sqlTool(database, 'update-schema', '-d', join(temporal.postgresSchemaDir, schema, 'versioned'));
    }
    if (!earlier) await writeFile(join(dir, STATE_FILE), `${JSON.stringify({ postgresPort, ports }, null, 2)}\n`);
    // A new server knows no namespace yet: registered once its frontend answers, then usable
    // (with ipa's search attributes) once every service's namespace cache has it.
    const first = launchServer();
    await serverReady(first, `the Temporal server did not register namespace ${namespace}`, (c) =>
      c.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') }).catch((err: Error) => {
        if (!/already/i.test(err.message)) throw err;
      }),
    );
    await serverReady(first, `namespace ${namespace} did not become usable`, async (c) => {
      const added = await ensureSearchAttributes(c, namespace);
      if (added.length > 0) log.info({ added }, 'registered search attributes');
    });
    log.info({ address, postgresPort, dir, version: temporal.version, postgres: postgres.version }, 'Temporal cluster ready');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address,
    namespace,
    certificates,
    env,
    settings,
    dir,
    serverLog,
    postgresLog,
    serverPid: () => server?.pgid ?? 0,
    postgresPid: () => pg?.pgid ?? 0,
    serverExited: () => server?.exited ?? Promise.resolve(null),
    stopServer,
    startServer,
    stopPostgres,
    startPostgres,
    stop,
  };
}
