/**
 * Vitest global setup: makes sure the stand-in's local CA exists and lets every test worker trust it via
 * NODE_EXTRA_CA_CERTS (read by Node at process start; forked workers inherit this environment).
 */
import { ensureLocalCa } from '../local/standin/tls/local-ca.js';

export default async function setup(): Promise<void> {
  const { caCertPath } = await ensureLocalCa();
  process.env.NODE_EXTRA_CA_CERTS = caCertPath;
}
