// Google and Apple sign-in: verify the provider's ID token with jose against its JWKS
// (issuer, audience = our client ids, expiry, email_verified). JWKS URLs and client ids come
// from config, so tests point them at a local JWKS server.
import type { JWTPayload } from 'jose';
import { config } from '../config.ts';
import { AppError } from '../errors.ts';
import { emailSchema } from './schemas.ts';

export type SocialProvider = 'google' | 'apple';

export interface VerifiedIdentity {
  provider: SocialProvider;
  subject: string;
  email: string;
  name: string | undefined;
}

const issuers: Record<SocialProvider, string[]> = {
  google: ['https://accounts.google.com', 'accounts.google.com'],
  apple: ['https://appleid.apple.com'],
};

type RemoteJwks = ReturnType<typeof import('jose').createRemoteJWKSet>;
// One JWKS cache per URL: jose caches keys and refetches on an unknown kid.
const jwksByUrl = new Map<string, RemoteJwks>();

async function jwksFor(url: string): Promise<RemoteJwks> {
  const { createRemoteJWKSet } = await import('jose');
  let jwks = jwksByUrl.get(url);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    jwksByUrl.set(url, jwks);
  }
  return jwks;
}

function settingsFor(provider: SocialProvider): { jwksUrl: string; audiences: string[] } {
  const cfg = config();
  return provider === 'google'
    ? { jwksUrl: cfg.GOOGLE_JWKS_URL, audiences: cfg.GOOGLE_CLIENT_IDS }
    : { jwksUrl: cfg.APPLE_JWKS_URL, audiences: cfg.APPLE_CLIENT_IDS };
}

const emailVerified = (payload: JWTPayload): boolean =>
  // Apple sends the claim as the string "true".
  payload.email_verified === true || payload.email_verified === 'true';

export async function verifyIdToken(
  provider: SocialProvider,
  idToken: string,
): Promise<VerifiedIdentity> {
  const { jwtVerify, errors } = await import('jose');
  const { jwksUrl, audiences } = settingsFor(provider);
  if (audiences.length === 0) {
    throw new AppError(
      'unavailable',
      `${provider === 'google' ? 'Google' : 'Apple'} sign-in is not configured`,
    );
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, await jwksFor(jwksUrl), {
      issuer: issuers[provider],
      audience: audiences,
      algorithms: ['RS256', 'ES256'],
      requiredClaims: ['sub', 'exp', 'iat'],
    }));
  } catch (err) {
    // The provider's key set could not be fetched: our problem (or theirs), not a bad token.
    if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
      throw new AppError('unavailable', 'Sign-in with this provider is unavailable; try again', {
        cause: err,
      });
    }
    throw new AppError('invalid_credentials', 'The sign-in token could not be verified', {
      cause: err,
    });
  }
  const email = typeof payload.email === 'string' ? payload.email : undefined;
  if (!email || !emailVerified(payload)) {
    throw new AppError('invalid_credentials', 'The account has no verified email address');
  }
  // The same rules as a signup's email: a provider's odd value (too long, no @, spaces) must
  // not reach the database.
  const usable = emailSchema.safeParse(email);
  if (!usable.success) {
    throw new AppError('invalid_credentials', 'The account has no usable email address');
  }
  return {
    provider,
    subject: payload.sub as string,
    email: usable.data,
    name: typeof payload.name === 'string' ? payload.name.slice(0, 100) : undefined,
  };
}
