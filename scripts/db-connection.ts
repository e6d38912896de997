// How the operations scripts (migrations, grants, seed, table restore) connect with
// DATABASE_URL. In the Cloud Run jobs the URL points at Cloud SQL's private IP and
// DB_SERVER_CA / DB_SERVER_NAME hold the instance's CA and certificate name
// (terraform/migrate.tf): the connection is then TLS, verified against that CA alone, and
// refused if the certificate names another instance. Locally (no CA) the URL is used as is.
import type pg from 'pg';
import type { Config } from '../shared/config.ts';
import { pinnedTls } from '../shared/tls.ts';

type ConnectionSettings = Pick<
  Config,
  'DATABASE_URL' | 'DB_SERVER_CA' | 'DB_SERVER_NAME' | 'NODE_ENV'
>;

// pg lets TLS parameters in the URL override the ssl option, so they are removed when the
// CA is given: the URL cannot weaken the verification (e.g. sslmode=no-verify).
const urlTlsParameters = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'];

export function operationsClientConfig(
  settings: ConnectionSettings,
  url = settings.DATABASE_URL,
): pg.ClientConfig {
  if (!url) throw new Error('DATABASE_URL is not set');
  const parsed = new URL(url);
  if (settings.DB_SERVER_CA) {
    for (const p of urlTlsParameters) parsed.searchParams.delete(p);
    return {
      connectionString: parsed.toString(),
      ssl: pinnedTls({
        ca: settings.DB_SERVER_CA,
        ...(settings.DB_SERVER_NAME ? { serverName: settings.DB_SERVER_NAME } : {}),
      }),
    };
  }
  if (settings.NODE_ENV === 'production' && parsed.searchParams.get('sslmode') === 'no-verify') {
    throw new Error(
      'DATABASE_URL asks for sslmode=no-verify: set DB_SERVER_CA (and DB_SERVER_NAME) so the server is verified',
    );
  }
  return { connectionString: url };
}
