// The delivery log (notification_deliveries): each notification goes out at most once per
// channel and target, whatever Pub/Sub redelivers and however many instances race.
//
// Protocol, one row per dedupe key:
//   1. claim: one INSERT ... ON CONFLICT DO UPDATE. A new key is inserted as 'sending' with a
//      lease; an existing one is taken over only when a previous attempt released it
//      ('retry') or, if the caller allows it, when its lease ran out (the instance died
//      mid-send). Row locking makes exactly one racer win.
//   2. send, then mark 'sent' / 'dropped' (target gone, e.g. an unregistered token) /
//      'failed' (permanent error) / 'retry' (transient error: released for the next try).
// A loser sees 'sent' (nothing to do) or another instance's live lease ('in_flight': the
// caller throws so Pub/Sub redelivers later and then finds the row settled).
// Safety alerts take over expired leases (at-least-once: better twice than never); digests
// and reminders do not (at-most-once: an instance that died mid-send may have sent it).
import type { Queryable } from '../db/client.ts';
import { PermanentSendError } from './retry.ts';

export type DeliveryKind = 'alert' | 'digest' | 'streak_reminder';
export type DeliveryChannel = 'push' | 'email';
export type FinalStatus = 'sent' | 'dropped' | 'failed';

export interface DeliveryTarget {
  parentId: string;
  dedupeKey: string;
  kind: DeliveryKind;
  channel: DeliveryChannel;
}

export type ClaimResult = 'claimed' | 'settled' | 'in_flight';

export interface ClaimOptions {
  leaseSeconds: number;
  /** Take over a 'sending' row whose lease expired. */
  reclaimExpired: boolean;
}

export async function claimDelivery(
  db: Queryable,
  target: DeliveryTarget,
  options: ClaimOptions,
): Promise<ClaimResult> {
  const rows = await db.$queryRaw<{ claimed: boolean; status: string | null }[]>`
    WITH claimed AS (
      INSERT INTO notification_deliveries AS d
             (parent_id, dedupe_key, kind, channel, status, attempts, claimed_until)
      VALUES (${target.parentId}::uuid, ${target.dedupeKey}, ${target.kind}, ${target.channel},
              'sending', 1, NOW() + make_interval(secs => ${options.leaseSeconds}::float8))
      ON CONFLICT (dedupe_key) DO UPDATE
         SET status = 'sending', attempts = d.attempts + 1, claimed_until = EXCLUDED.claimed_until
       WHERE d.status = 'retry'
          OR (${options.reclaimExpired}::boolean AND d.status = 'sending' AND d.claimed_until < NOW())
      RETURNING d.id)
    SELECT EXISTS (SELECT 1 FROM claimed) AS claimed,
           (SELECT status::text FROM notification_deliveries WHERE dedupe_key = ${target.dedupeKey}) AS status`;
  const row = rows[0];
  if (row?.claimed) return 'claimed';
  // The status subquery sees the row as it was when the statement started: a key another
  // instance inserted concurrently reads as null, i.e. in flight.
  return row?.status === 'sent' || row?.status === 'dropped' || row?.status === 'failed'
    ? 'settled'
    : 'in_flight';
}

export async function settleDelivery(
  db: Queryable,
  dedupeKey: string,
  status: FinalStatus | 'retry',
  error?: string,
): Promise<void> {
  await db.$executeRaw`
    UPDATE notification_deliveries
       SET status = ${status}::varchar,
           sent_at = CASE WHEN ${status}::varchar = 'sent' THEN NOW() ELSE sent_at END,
           claimed_until = NULL,
           last_error = ${error ? error.slice(0, 200) : null}
     WHERE dedupe_key = ${dedupeKey}`;
}

export type DeliveryOutcome = FinalStatus | 'already' | 'in_flight';

/**
 * Claims `target`, runs `send` (which retries transient errors itself) and records the
 * outcome. A transient error releases the claim and is rethrown; a permanent one is recorded
 * as 'failed' and returned (retrying cannot help).
 */
export async function deliverOnce(
  db: Queryable,
  target: DeliveryTarget,
  options: ClaimOptions,
  send: () => Promise<'sent' | 'dropped'>,
): Promise<DeliveryOutcome> {
  const claim = await claimDelivery(db, target, options);
  if (claim === 'settled') return 'already';
  if (claim === 'in_flight') return 'in_flight';
  let outcome: 'sent' | 'dropped';
  try {
    outcome = await send();
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    if (err instanceof PermanentSendError) {
      await settleDelivery(db, target.dedupeKey, 'failed', `${name}: ${err.message}`);
      return 'failed';
    }
    await settleDelivery(db, target.dedupeKey, 'retry', name).catch(() => undefined);
    throw err;
  }
  await settleDelivery(db, target.dedupeKey, outcome);
  return outcome;
}
