import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ValidationError } from '../../src/model/validation.js';
import { connectOptions, type TemporalSettings, temporalSettingsFromEnv } from '../../src/temporal/connection.js';

/** Asserts that loading fails with a ValidationError whose message matches every pattern. */
function rejects(env: NodeJS.ProcessEnv, ...patterns: RegExp[]) {
  assert.throws(
    () => temporalSettingsFromEnv(env),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      for (const pattern of patterns) assert.match(err.message, pattern);
      return true;
    },
  );
}

// Every env below is the whole environment (no HOME): the developer's own temporal.toml never leaks in.
describe('Temporal connection settings (@temporalio/envconfig)', () => {
  let dir: string;
  let file: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipa-envconfig-'));
    for (const name of ['client.pem', 'client.key', 'ca.pem']) await writeFile(join(dir, name), `-----BEGIN ${name}-----\n`);
    file = join(dir, 'temporal.toml');
    await writeFile(
      file,
      [
        '[profile.default]',
        'address = "localhost:7233"',
        '',
        '[profile.prod]',
        'address = "prod.a1b2c.tmprl.cloud:7233"',
        'namespace = "prod.a1b2c"',
        '[profile.prod.tls]',
        `client_cert_path = "${join(dir, 'client.pem')}"`,
        `client_key_path = "${join(dir, 'client.key')}"`,
        'server_name = "prod.internal"',
        '[profile.prod.grpc_meta]',
        'x-team = "ml"',
        '',
        '[profile.typo]',
        'address = "http://prod:7233"',
        '',
        '[profile.halfpair.tls]',
        'client_cert_data = "-----BEGIN CERTIFICATE-----"',
      ].join('\n'),
    );
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is undefined when nothing names a server, so ipa dev starts its own', () => {
    assert.equal(temporalSettingsFromEnv({}), undefined);
    assert.equal(temporalSettingsFromEnv({ TEMPORAL_NAMESPACE: 'ns', TEMPORAL_API_KEY: 'k' }), undefined);
    assert.equal(temporalSettingsFromEnv({ TEMPORAL_ADDRESS: '' }), undefined, 'empty is unset');
    // The SDK's default file is missing here: no profile, no error.
    assert.equal(temporalSettingsFromEnv({ XDG_CONFIG_HOME: join(dir, 'none') }), undefined);
  });

  it('reads the variables the README documents', () => {
    assert.deepEqual(temporalSettingsFromEnv({ TEMPORAL_ADDRESS: '127.0.0.1:7233' }), {
      address: '127.0.0.1:7233',
      namespace: 'default',
      source: 'TEMPORAL_ADDRESS',
    });
    const settings = temporalSettingsFromEnv({
      TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'my-ns.a1b2c',
      TEMPORAL_API_KEY: 'secret',
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
    });
    assert.deepEqual(settings, {
      address: 'my-ns.a1b2c.tmprl.cloud:7233',
      namespace: 'my-ns.a1b2c',
      apiKey: 'secret',
      tls: {
        serverName: 'frontend.internal',
        clientCert: { path: join(dir, 'client.pem'), setting: 'TEMPORAL_TLS_CLIENT_CERT_PATH' },
        clientKey: { path: join(dir, 'client.key'), setting: 'TEMPORAL_TLS_CLIENT_KEY_PATH' },
        serverCACert: { path: join(dir, 'ca.pem'), setting: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH' },
      },
      source: 'TEMPORAL_ADDRESS',
    });
    const options = connectOptions(settings as TemporalSettings);
    assert.equal(options.apiKey, 'secret');
    assert.ok(typeof options.tls === 'object');
    assert.equal(options.tls.serverNameOverride, 'frontend.internal');
    assert.equal(options.tls.clientCertPair?.crt.toString(), '-----BEGIN client.pem-----\n');
    assert.equal(options.tls.clientCertPair?.key.toString(), '-----BEGIN client.key-----\n');
    assert.equal(options.tls.serverRootCACertificate?.toString(), '-----BEGIN ca.pem-----\n');
  });

  it('turns TLS on for an API key alone, and off with TEMPORAL_TLS=false', () => {
    const cloud = temporalSettingsFromEnv({ TEMPORAL_ADDRESS: 'a.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' });
    assert.equal(connectOptions(cloud as TemporalSettings).tls, true);
    const plain = temporalSettingsFromEnv({ TEMPORAL_ADDRESS: 'a:7233', TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' });
    assert.equal(connectOptions(plain as TemporalSettings).tls, false);
    const local = temporalSettingsFromEnv({ TEMPORAL_ADDRESS: 'localhost:7233' });
    assert.equal(connectOptions(local as TemporalSettings).tls, false);
  });

  it('loads a profile of a TOML config file, overridden by the variables', () => {
    assert.deepEqual(temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: file }), {
      address: 'localhost:7233',
      namespace: 'default',
      source: `address of profile "default" in ${file}`,
    });
    const prod = temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    assert.deepEqual(prod, {
      address: 'prod.a1b2c.tmprl.cloud:7233',
      namespace: 'prod.a1b2c',
      tls: {
        serverName: 'prod.internal',
        clientCert: { path: join(dir, 'client.pem'), setting: `tls.client_cert_path of profile "prod" in ${file}` },
        clientKey: { path: join(dir, 'client.key'), setting: `tls.client_key_path of profile "prod" in ${file}` },
      },
      grpcMeta: { 'x-team': 'ml' },
      source: `address of profile "prod" in ${file}`,
    });
    assert.deepEqual(connectOptions(prod as TemporalSettings).metadata, { 'x-team': 'ml' });
    const overridden = temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'other' });
    assert.equal(overridden?.namespace, 'other');
    assert.equal(overridden?.address, 'prod.a1b2c.tmprl.cloud:7233');
  });

  it("finds the SDK's default file (XDG_CONFIG_HOME/temporalio/temporal.toml)", async () => {
    const config = join(dir, 'xdg');
    await mkdir(join(config, 'temporalio'), { recursive: true });
    await writeFile(join(config, 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "10.0.0.5:7233"\nnamespace = "team"\n');
    const settings = temporalSettingsFromEnv({ XDG_CONFIG_HOME: config });
    assert.equal(settings?.address, '10.0.0.5:7233');
    assert.equal(settings?.namespace, 'team');
    assert.equal(temporalSettingsFromEnv({ XDG_CONFIG_HOME: config, TEMPORAL_ADDRESS: 'elsewhere:7233' })?.address, 'elsewhere:7233');
  });

  it('names the variable or profile field and the value of bad input', async () => {
    rejects({ TEMPORAL_ADDRESS: 'http://localhost:7233' }, /TEMPORAL_ADDRESS: "http:\/\/localhost:7233" is not host:port/);
    rejects({ TEMPORAL_ADDRESS: 'localhost:99999' }, /TEMPORAL_ADDRESS: "localhost:99999" is not host:port/);
    rejects(
      { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'typo' },
      /address of profile "typo" in .*temporal\.toml: "http:\/\/prod:7233"/,
    );
    rejects({ TEMPORAL_ADDRESS: 'a:7233', TEMPORAL_TLS: 'yes' }, /TEMPORAL_TLS: "yes" is not one of 1, true, 0, false/);
    rejects(
      { TEMPORAL_ADDRESS: 'a:7233', TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem' },
      /TEMPORAL_TLS_CLIENT_CERT_PATH: a client certificate and key go together/,
    );
    rejects(
      { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'halfpair', TEMPORAL_ADDRESS: 'a:7233' },
      /tls\.client_cert_data of profile "halfpair" .*: a client certificate and key go together: TEMPORAL_TLS_CLIENT_KEY_PATH/,
    );
    rejects({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' }, /TEMPORAL_PROFILE="staging"\): Profile 'staging' not found/);
    rejects({ TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') }, /TEMPORAL_CONFIG_FILE: ".*missing\.toml": no such file/);
    const broken = join(dir, 'broken.toml');
    await writeFile(broken, '[profile.default]\naddress = localhost:7233\n');
    rejects({ TEMPORAL_CONFIG_FILE: broken }, /broken\.toml: Invalid TOML document: invalid value[\s\S]*2: +address = localhost:7233/);
    // A certificate file that cannot be read fails the connection, naming the variable and the path.
    const settings = temporalSettingsFromEnv({
      TEMPORAL_ADDRESS: 'a:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'nope.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
    });
    assert.throws(() => connectOptions(settings as TemporalSettings), /TEMPORAL_TLS_CLIENT_CERT_PATH=".*nope\.pem": ENOENT/);
  });
});
