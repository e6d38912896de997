// OAuth access tokens for Google APIs from the metadata server, as the Vertex tutor gets
// them: the runtime's service account, cached until a minute before expiry.
import { z } from 'zod';
import { config } from '../config.ts';

let cached: { value: string; expiresAt: number } | undefined;

export async function metadataAccessToken(signal?: AbortSignal): Promise<string> {
  if (cached && cached.expiresAt > Date.now() + 60_000) return cached.value;
  const base = config().METADATA_SERVER_URL.replace(/\/+$/, '');
  const res = await fetch(`${base}/computeMetadata/v1/instance/service-accounts/default/token`, {
    headers: { 'Metadata-Flavor': 'Google' },
    ...(signal ? { signal } : {}),
  });
  if (!res.ok) throw new Error(`metadata token request failed with ${res.status}`);
  const body = z
    .object({ access_token: z.string().min(1), expires_in: z.number() })
    .parse(await res.json());
  cached = { value: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
  return body.access_token;
}

/** After a 401 the cached token is not trusted again. */
export function forgetAccessToken(): void {
  cached = undefined;
}
