import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files of a throwaway certificate authority, a server certificate for loopback and a client certificate it signed. */
export interface Certificates {
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** The name the server certificate is for, which a client checks (`TEMPORAL_TLS_SERVER_NAME`). */
  serverName: string;
}

/**
 * Makes, with openssl, certificates for an mTLS test in `dir`: a CA valid for a day, a server
 * certificate for `localhost` and 127.0.0.1 and a client certificate, both signed by it. Nothing
 * long-lived, nothing committed.
 */
export async function makeCertificates(dir: string): Promise<Certificates> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const file = (name: string) => join(dir, name);
  await openssl(
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
  const sign = async (name: string, commonName: string, extensions: string) => {
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${commonName}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    await writeFile(file(`${name}.ext`), `${extensions}\n`);
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  };
  // The internode client of the Temporal server presents the server certificate too: both uses.
  await sign('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth');
  await sign('client', 'ipa-worker', 'extendedKeyUsage=clientAuth');
  return {
    ca: file('ca.pem'),
    caKey: file('ca.key'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    serverName: 'localhost',
  };
}
