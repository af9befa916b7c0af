import { existsSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Connection, type TLSConfig } from '@temporalio/client';
import { type ClientConfigProfile, type ConfigDataSource, loadClientConfigProfile, loadConfigData } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { show, ValidationError, type ValidationIssue } from '../model/validation.js';

/** Where and how to reach Temporal; the same settings serve the client and the worker. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  /** TLS as the SDK loads it (PEM files or inline PEM); `disabled` turns TLS off even with an API key. */
  tls?: { disabled?: boolean; serverName?: string; clientCert?: Pem; clientKey?: Pem; serverCACert?: Pem };
  /** gRPC headers sent on every call (`grpc_meta` of a profile, `TEMPORAL_GRPC_META_*`). */
  grpcMeta?: Record<string, string>;
  /** What named the server, for log lines: `TEMPORAL_ADDRESS`, or the profile and file. */
  source?: string;
}

/** A PEM file (`path`) or inline PEM (`data`), and the variable or profile field that gave it. */
export type Pem = ConfigDataSource & { setting: string };

/**
 * The config file the SDK reads when TEMPORAL_CONFIG_FILE is unset (envconfig's default location),
 * for error messages only.
 */
function defaultConfigFile(env: Record<string, string>): string {
  if (platform() === 'win32') return join(env.APPDATA ?? '%APPDATA%', 'temporalio', 'temporal.toml');
  if (platform() === 'darwin') return join(env.HOME ?? homedir(), 'Library', 'Application Support', 'temporalio', 'temporal.toml');
  const xdg = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(xdg, 'temporalio', 'temporal.toml');
}

/** Env var ↔ field of a profile, for naming where a bad value came from. */
const FIELDS = {
  address: ['TEMPORAL_ADDRESS', 'address'],
  namespace: ['TEMPORAL_NAMESPACE', 'namespace'],
  clientCert: ['TEMPORAL_TLS_CLIENT_CERT', 'tls.client_cert'],
  clientKey: ['TEMPORAL_TLS_CLIENT_KEY', 'tls.client_key'],
  serverCACert: ['TEMPORAL_TLS_SERVER_CA_CERT', 'tls.server_ca_cert'],
} as const;

/** `host` or `host:port` (port 1–65535), `[v6]:port` too; no scheme, path or spaces. */
function badAddress(address: unknown): string | undefined {
  if (typeof address !== 'string') return `must be a string "host:port", got ${show(address)}`;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]@]+)(?::(\d{1,5}))?$/.exec(address);
  const port = match?.[2] === undefined ? 7233 : Number(match[2]);
  if (!match || port < 1 || port > 65535) return `${show(address)} is not host:port (e.g. my-ns.a1b2c.tmprl.cloud:7233)`;
  return undefined;
}

/**
 * Temporal's client settings, loaded the SDK's way (@temporalio/envconfig): the profile
 * TEMPORAL_PROFILE (default `default`) of the TOML file TEMPORAL_CONFIG_FILE (default
 * ~/.config/temporalio/temporal.toml; a missing file is no profile), overridden field by field by
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_* and
 * TEMPORAL_GRPC_META_*. An empty variable counts as unset. Returns undefined when neither names an
 * address, which is what makes `ipa dev` start its own server. Throws a ValidationError naming
 * the variable or profile field and its value for bad input.
 */
export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings | undefined {
  // Empty means unset (as ipa always read them), except that an empty TEMPORAL_GRPC_META_X removes header X.
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (value !== '' || name.startsWith('TEMPORAL_GRPC_META_'))) vars[name] = value;
  }
  const file = vars.TEMPORAL_CONFIG_FILE ?? defaultConfigFile(vars);
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  // The SDK takes a missing file for an empty one; a file named on purpose that is not there is a mistake.
  if (vars.TEMPORAL_CONFIG_FILE !== undefined && !existsSync(file)) {
    throw new ValidationError('Temporal client config', [{ path: 'TEMPORAL_CONFIG_FILE', message: `${show(file)}: no such file` }]);
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (err) {
    // TOML syntax errors, a TEMPORAL_PROFILE the file lacks, both *_path and *_data of one field.
    const detail = vars.TEMPORAL_PROFILE !== undefined ? ` (TEMPORAL_PROFILE=${show(vars.TEMPORAL_PROFILE)})` : '';
    throw new ValidationError('Temporal client config', [{ path: `${file}${detail}`, message: (err as Error).message.trim() }]);
  }
  /** The variable that set `field`, else the field of the profile. */
  const where = (field: keyof typeof FIELDS, suffix: '' | '_PATH' | '_DATA' = '') =>
    vars[FIELDS[field][0] + suffix] !== undefined
      ? FIELDS[field][0] + suffix
      : `${FIELDS[field][1]}${suffix.toLowerCase()} of profile "${profileName}" in ${file}`;
  const pem = (field: 'clientCert' | 'clientKey' | 'serverCACert', source: ConfigDataSource | undefined): Pem | undefined =>
    source && { ...source, setting: where(field, 'path' in source ? '_PATH' : '_DATA') };

  const issues: ValidationIssue[] = [];
  if (vars.TEMPORAL_TLS !== undefined && !['1', 'true', '0', 'false'].includes(vars.TEMPORAL_TLS)) {
    issues.push({ path: 'TEMPORAL_TLS', message: `${show(vars.TEMPORAL_TLS)} is not one of 1, true, 0, false` });
  }
  if (profile.address !== undefined) {
    const bad = badAddress(profile.address);
    if (bad) issues.push({ path: where('address'), message: bad });
  }
  if (profile.namespace !== undefined && (typeof profile.namespace !== 'string' || profile.namespace === '')) {
    issues.push({ path: where('namespace'), message: `must be a non-empty string, got ${show(profile.namespace)}` });
  }
  const tls = profile.tls && {
    ...(profile.tls.disabled !== undefined ? { disabled: profile.tls.disabled } : {}),
    ...(profile.tls.serverName ? { serverName: profile.tls.serverName } : {}),
    ...(profile.tls.clientCert ? { clientCert: pem('clientCert', profile.tls.clientCert) } : {}),
    ...(profile.tls.clientKey ? { clientKey: pem('clientKey', profile.tls.clientKey) } : {}),
    ...(profile.tls.serverCACert ? { serverCACert: pem('serverCACert', profile.tls.serverCACert) } : {}),
  };
  if (tls && Boolean(tls.clientCert) !== Boolean(tls.clientKey)) {
    const [given, missing] = tls.clientCert ? [tls.clientCert, FIELDS.clientKey] : [tls.clientKey as Pem, FIELDS.clientCert];
    issues.push({
      path: given.setting,
      message: `a client certificate and key go together: ${missing[0]}_PATH (or ${missing[1]}_path) is not set`,
    });
  }
  if (issues.length) throw new ValidationError('Temporal connection settings', issues);
  if (profile.address === undefined) return undefined;
  return {
    address: profile.address,
    namespace: profile.namespace || 'default',
    ...(profile.apiKey ? { apiKey: profile.apiKey } : {}),
    ...(tls ? { tls } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length ? { grpcMeta: profile.grpcMeta } : {}),
    source: where('address'),
  };
}

/** A PEM of the TLS settings; an unreadable file names the setting and the path. */
function readPem(source: Pem | undefined): Buffer | undefined {
  if (!source) return undefined;
  try {
    return Buffer.from(loadConfigData(source) as Uint8Array);
  } catch (err) {
    throw new Error(`${source.setting}${'path' in source ? `=${show(source.path)}` : ''}: ${(err as Error).message}`);
  }
}

/**
 * The SDK's TLS option: TLS when configured or with an API key alone (Temporal Cloud, the
 * system's roots); `disabled` (TEMPORAL_TLS=false, `tls.disabled = true`) turns it off.
 */
function tlsConfig(settings: TemporalSettings): TLSConfig | boolean {
  const tls = settings.tls;
  if (!tls) return Boolean(settings.apiKey);
  if (tls.disabled) return false;
  const crt = readPem(tls.clientCert);
  const key = readPem(tls.clientKey);
  const ca = readPem(tls.serverCACert);
  return {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
  };
}

/** What Connection.connect and NativeConnection.connect take (exported for the tests). */
export function connectOptions(settings: TemporalSettings) {
  return {
    address: settings.address,
    tls: tlsConfig(settings),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(settings.grpcMeta ? { metadata: settings.grpcMeta } : {}),
  };
}

/**
 * A TLS connection without a client certificate that the server drops reads to the SDK as a
 * timeout; a server that requires mTLS is the usual cause, so the error says which settings fix it.
 */
function explained(settings: TemporalSettings, err: unknown): Error {
  const error = err as Error;
  const tls = tlsConfig(settings);
  if (
    typeof tls === 'object' &&
    !tls.clientCertPair &&
    !settings.apiKey &&
    /deadline|handshake|certificate|connection reset|transport/i.test(error.message)
  ) {
    return new Error(
      `${error.message}: connecting to ${settings.address} with TLS but no client certificate; if the server requires mTLS, ` +
        "set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or the profile's tls.client_cert_path and tls.client_key_path)",
    );
  }
  return error;
}

export async function connectClient(settings: TemporalSettings): Promise<Connection> {
  return Connection.connect({ ...connectOptions(settings), connectTimeout: '10s' }).catch((err: unknown) => {
    throw explained(settings, err);
  });
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(connectOptions(settings)).catch((err: unknown) => {
    throw explained(settings, err);
  });
}
