// TLS to Google's managed services, verified against the instance's own CA. Neither Cloud SQL
// nor Memorystore puts the address clients dial in a subjectAltName: Cloud SQL names the
// instance (`<project>:<instance>`) in the subject CN, Memorystore its IP. So the chain is
// checked against that CA alone (not the public roots), and the name against the SAN as
// usual or, failing that, the CN. A certificate for anything else is refused.
import tls from 'node:tls';

export interface PinnedTlsOptions {
  /** PEM of the CA (or CAs, during a rotation) that signs the server's certificate. */
  ca: string;
  /** Name the certificate must carry; defaults to the host dialled. */
  serverName?: string;
}

export function pinnedTls({ ca, serverName }: PinnedTlsOptions): tls.ConnectionOptions {
  return {
    ca,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    checkServerIdentity: (host, cert) => {
      const expected = serverName ?? host;
      const standard = tls.checkServerIdentity(expected, cert);
      if (!standard || cert.subject?.CN === expected) return undefined;
      return new Error(
        `TLS: the server certificate names ${cert.subject?.CN ?? 'nothing'}, expected ${expected}`,
      );
    },
  };
}
