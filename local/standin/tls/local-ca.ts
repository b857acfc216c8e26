/**
 * The stand-in's certificates: a local CA kept on disk (created once, reused by every process so that
 * `NODE_EXTRA_CA_CERTS` can point at it), a server certificate for 127.0.0.1/localhost signed by it, and
 * self-signed client certificates for app registrations (certificate credentials).
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import forge from 'node-forge';

export const DEFAULT_CA_DIR = join(tmpdir(), 'entra-sync-standin-ca');
const CA_CERT_FILE = 'ca-cert.pem';
const CA_KEY_FILE = 'ca-key.pem';

export interface LocalCa {
  readonly caCertPath: string;
  readonly caCertPem: string;
}

export interface LocalCaWithKey extends LocalCa {
  readonly caKeyPem: string;
}

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Creates the CA in `dir` if absent (atomically: concurrent processes agree on one CA), then returns it. */
export async function ensureLocalCa(dir: string = DEFAULT_CA_DIR): Promise<LocalCa> {
  const { caCertPath, caCertPem } = await loadOrCreateCa(dir);
  return { caCertPath, caCertPem };
}

export async function loadOrCreateCa(dir: string = DEFAULT_CA_DIR): Promise<LocalCaWithKey> {
  const existing = await readCa(dir);
  if (existing) return existing;
  await mkdir(dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.staging-`);
  const ca = createCa();
  await writeFile(join(staging, CA_KEY_FILE), ca.keyPem, { mode: 0o600 });
  await writeFile(join(staging, CA_CERT_FILE), ca.certPem);
  try {
    await rename(staging, dir);
  } catch {
    // Another process created the CA first: use theirs.
    await rm(staging, { recursive: true, force: true });
  }
  const created = await readCa(dir);
  if (!created) throw new Error(`The local CA in ${dir} could not be created or read.`);
  return created;
}

async function readCa(dir: string): Promise<LocalCaWithKey | undefined> {
  try {
    const caCertPath = join(dir, CA_CERT_FILE);
    const [caCertPem, caKeyPem] = await Promise.all([
      readFile(caCertPath, 'utf8'),
      readFile(join(dir, CA_KEY_FILE), 'utf8'),
    ]);
    const cert = new X509Certificate(caCertPem);
    if (Date.parse(cert.validTo) < Date.now() + 24 * 3600 * 1000) return undefined;
    return { caCertPath, caCertPem, caKeyPem };
  } catch {
    return undefined;
  }
}

function newKeyPair(): {
  publicKey: forge.pki.rsa.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
  keyPem: string;
} {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), keyPem };
}

function serialNumber(): string {
  // Positive serial: clear the top bit.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate, days: number): void {
  cert.validity.notBefore = new Date(Date.now() - 3600 * 1000);
  cert.validity.notAfter = new Date(Date.now() + days * 24 * 3600 * 1000);
}

function createCa(): IssuedCertificate {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, 3650);
  const subject = [
    { name: 'commonName', value: 'Entra Sync Stand-in Local CA' },
    { name: 'organizationName', value: 'entra-people-sync (local development only)' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

/** A TLS server certificate for 127.0.0.1, ::1 and localhost, signed by the local CA. */
export function issueServerCertificate(
  ca: LocalCaWithKey,
  extraHosts: readonly string[] = [],
): IssuedCertificate {
  const caCert = forge.pki.certificateFromPem(ca.caCertPem);
  const caKey = forge.pki.privateKeyFromPem(ca.caKeyPem);
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, 30);
  cert.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  cert.setIssuer(caCert.subject.attributes);
  const dnsNames = ['localhost', ...extraHosts.filter((h) => !/^[\d.:]+$/.test(h))];
  const ips = ['127.0.0.1', '::1', ...extraHosts.filter((h) => /^[\d.:]+$/.test(h))];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))],
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

/** A self-signed certificate for an app registration's certificate credential. */
export function createClientCertificate(commonName: string): IssuedCertificate {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, 365);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, critical: true },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}
