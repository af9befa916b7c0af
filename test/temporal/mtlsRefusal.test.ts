import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { connectClient, connectWorker } from '../../src/temporal/connection.js';

/**
 * A server that requires a client certificate (mTLS), as a production Temporal frontend does,
 * refuses ipa without one: the error names the settings that supply it. The server here is a
 * TLS listener that demands a client certificate (certificates made with openssl at test time);
 * the Temporal SDK sees the same refused handshake from it as from a Temporal frontend.
 */
describe('connecting with TLS but without a client certificate', () => {
  let dir: string;
  let server: Server;
  let address: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipa-mtls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=ipa-test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    );
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    );
    const read = (name: string) => readFileSync(join(dir, name));
    server = createServer({
      key: read('server.key'),
      cert: read('server.pem'),
      ca: read('ca.pem'),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const settings = () => ({
    address,
    namespace: 'default',
    tls: { serverName: 'localhost', serverCACert: { path: join(dir, 'ca.pem'), setting: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH' } },
  });
  const names = /set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/;

  it('the client connection is refused, naming the settings of a client certificate', async () => {
    await assert.rejects(connectClient(settings()), (err: Error) => names.test(err.message) && err.message.includes(address));
  });

  it('the worker connection too', async () => {
    await assert.rejects(connectWorker(settings()), (err: Error) => names.test(err.message));
  });
});
