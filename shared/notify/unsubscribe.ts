// One-click unsubscribe (RFC 8058): a signed token naming the parent and one notification
// switch. POSTing it turns that switch off. HS256 with NOTIFY_TOKEN_KEY (Secret Manager);
// outside production a random per-process key is used when it is unset.
import { randomBytes } from 'node:crypto';
import { config } from '../config.ts';
import { inTransaction } from '../db/transaction.ts';
import { AppError } from '../errors.ts';
import { NOTIFICATION_KEYS, type NotificationKey } from './settings.ts';

const AUDIENCE = 'brainspark-unsubscribe';
const TTL_SECONDS = 180 * 24 * 3600;

let devKey: Uint8Array | undefined;

function key(): Uint8Array {
  const cfg = config();
  if (cfg.NOTIFY_TOKEN_KEY) return new TextEncoder().encode(cfg.NOTIFY_TOKEN_KEY);
  if (cfg.NODE_ENV === 'production') throw new Error('NOTIFY_TOKEN_KEY is not configured');
  devKey ??= randomBytes(32);
  return devKey;
}

export async function unsubscribeToken(
  parentId: string,
  setting: NotificationKey,
  now = new Date(),
): Promise<string> {
  const { SignJWT } = await import('jose');
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ setting })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(parentId)
    .setAudience(AUDIENCE)
    .setIssuer(config().JWT_ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + TTL_SECONDS)
    .sign(key());
}

export function unsubscribeUrl(token: string): string {
  return `${config().PUBLIC_API_URL.replace(/\/+$/, '')}/parents/unsubscribe?token=${encodeURIComponent(token)}`;
}

/** List-Unsubscribe headers for an email that `setting` switches off. */
export async function unsubscribeHeaders(
  parentId: string,
  setting: NotificationKey,
): Promise<{ url: string; headers: Record<string, string> }> {
  const url = unsubscribeUrl(await unsubscribeToken(parentId, setting));
  return {
    url,
    headers: {
      'List-Unsubscribe': `<${url}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
  };
}

const invalid = () =>
  new AppError('invalid_request', 'This unsubscribe link is invalid or has expired');

export async function verifyUnsubscribeToken(
  token: string,
): Promise<{ parentId: string; setting: NotificationKey }> {
  const { jwtVerify } = await import('jose');
  try {
    const { payload } = await jwtVerify(token, key(), {
      algorithms: ['HS256'],
      audience: AUDIENCE,
      issuer: config().JWT_ISSUER,
    });
    const setting = payload.setting;
    if (!payload.sub || !NOTIFICATION_KEYS.includes(setting as NotificationKey)) throw invalid();
    return { parentId: payload.sub, setting: setting as NotificationKey };
  } catch {
    throw invalid();
  }
}

/** Turns the token's switch off; the same link used twice changes nothing more. */
export async function unsubscribe(
  token: string,
): Promise<{ setting: NotificationKey; enabled: false }> {
  const { parentId, setting } = await verifyUnsubscribeToken(token);
  await inTransaction(`parent:${parentId}`, async (tx) => {
    const updated = await tx.$executeRaw`
      UPDATE parents
         SET settings = COALESCE(settings, '{}'::jsonb) || jsonb_build_object('notifications',
               CASE WHEN jsonb_typeof(settings -> 'notifications') = 'object'
                    THEN settings -> 'notifications' ELSE '{}'::jsonb END
               || jsonb_build_object(${setting}::text, false))
       WHERE id = ${parentId}::uuid AND deleted_at IS NULL`;
    if (updated === 0) throw invalid();
  });
  return { setting, enabled: false };
}
