// A local JWKS endpoint (node:http on 127.0.0.1) with keys made in the test, standing in for
// Google's and Apple's key sets. `signIdToken` makes ID tokens those providers would issue.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export interface JwksServer {
  url: string;
  /** Signs with the served key (or `foreignKey: true` for a key the server does not publish). */
  signIdToken(
    claims: JWTPayload,
    options?: { foreignKey?: boolean; expiresIn?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startJwksServer(): Promise<JwksServer> {
  const served = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256', { extractable: true });
  const kid = `test-${Math.random().toString(36).slice(2, 10)}`;
  const body = JSON.stringify({
    keys: [{ ...(await exportJWK(served.publicKey)), kid, alg: 'RS256', use: 'sig' }],
  });
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const sign = (key: CryptoKey, claims: JWTPayload, expiresIn: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(key);
  return {
    url: `http://127.0.0.1:${port}/keys`,
    signIdToken: (claims, options = {}) =>
      sign(
        options.foreignKey ? foreign.privateKey : served.privateKey,
        claims,
        options.expiresIn ?? '10m',
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
