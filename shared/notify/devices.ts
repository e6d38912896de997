// Push devices (parent_devices): the app registers its FCM token after sign-in and on every
// token refresh; a token belongs to one install, so registering it moves it to this parent.
import { parentActor } from '../accounts/db.ts';
import { getPool } from '../db/client.ts';
// Until this module moves onto the Prisma client (issue 10): accounts/db.ts no longer has it.
import { runTransaction as withTransaction } from '../db/transaction.ts';
import { AppError } from '../errors.ts';

export type DevicePlatform = 'ios' | 'android' | 'web';

export interface DeviceView {
  id: string;
  platform: DevicePlatform;
  createdAt: string;
  lastSeenAt: string;
}

interface DeviceRow {
  id: string;
  platform: DevicePlatform;
  created_at: Date;
  last_seen_at: Date;
}

const toView = (row: DeviceRow): DeviceView => ({
  id: row.id,
  platform: row.platform,
  createdAt: row.created_at.toISOString(),
  lastSeenAt: row.last_seen_at.toISOString(),
});

/** At most this many devices per parent; the oldest unseen one makes room. */
export const MAX_DEVICES_PER_PARENT = 10;

export async function registerDevice(
  parentId: string,
  input: { platform: DevicePlatform; token: string },
): Promise<{ device: DeviceView; created: boolean }> {
  return withTransaction(parentActor(parentId), async (tx) => {
    const live = await tx.query(
      'SELECT 1 FROM parents WHERE id = $1 AND deleted_at IS NULL FOR SHARE',
      [parentId],
    );
    if (live.rowCount === 0) throw new AppError('not_found', 'No such account');
    const { rows } = await tx.query<DeviceRow & { inserted: boolean }>(
      `INSERT INTO parent_devices (parent_id, platform, fcm_token)
       VALUES ($1, $2, $3)
       ON CONFLICT (fcm_token) DO UPDATE
          SET parent_id = EXCLUDED.parent_id, platform = EXCLUDED.platform, last_seen_at = NOW()
       RETURNING id, platform, created_at, last_seen_at, (xmax = 0) AS inserted`,
      [parentId, input.platform, input.token],
    );
    await tx.query(
      `DELETE FROM parent_devices WHERE id IN (
         SELECT id FROM parent_devices WHERE parent_id = $1
          ORDER BY last_seen_at DESC, id OFFSET $2)`,
      [parentId, MAX_DEVICES_PER_PARENT],
    );
    const row = rows[0] as DeviceRow & { inserted: boolean };
    return { device: toView(row), created: row.inserted };
  });
}

export async function listDevices(parentId: string): Promise<DeviceView[]> {
  const pool = await getPool();
  const { rows } = await pool.query<DeviceRow>(
    'SELECT id, platform, created_at, last_seen_at FROM parent_devices WHERE parent_id = $1 ORDER BY created_at',
    [parentId],
  );
  return rows.map(toView);
}

/** 404 for another parent's device as for a missing one: ids are not probed. */
export async function removeDevice(parentId: string, deviceId: string): Promise<void> {
  const pool = await getPool();
  const { rowCount } = await pool.query(
    'DELETE FROM parent_devices WHERE id = $1 AND parent_id = $2',
    [deviceId, parentId],
  );
  if (rowCount === 0) throw new AppError('not_found', 'No such device');
}
