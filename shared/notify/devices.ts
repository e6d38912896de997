// Push devices (parent_devices): the app registers its FCM token after sign-in and on every
// token refresh; a token belongs to one install, so registering it moves it to this parent.
import { getDb } from '../db/client.ts';
import { inTransaction } from '../db/transaction.ts';
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
  return inTransaction(`parent:${parentId}`, async (tx) => {
    const live = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM parents WHERE id = ${parentId}::uuid AND deleted_at IS NULL FOR SHARE`;
    if (live.length === 0) throw new AppError('not_found', 'No such account');
    const rows = await tx.$queryRaw<(DeviceRow & { inserted: boolean })[]>`
      INSERT INTO parent_devices (parent_id, platform, fcm_token)
      VALUES (${parentId}::uuid, ${input.platform}, ${input.token})
      ON CONFLICT (fcm_token) DO UPDATE
         SET parent_id = EXCLUDED.parent_id, platform = EXCLUDED.platform, last_seen_at = NOW()
      RETURNING id, platform::text, created_at, last_seen_at, (xmax = 0) AS inserted`;
    await tx.$executeRaw`
      DELETE FROM parent_devices WHERE id IN (
        SELECT id FROM parent_devices WHERE parent_id = ${parentId}::uuid
         ORDER BY last_seen_at DESC, id OFFSET ${MAX_DEVICES_PER_PARENT}::int)`;
    const row = rows[0] as DeviceRow & { inserted: boolean };
    return { device: toView(row), created: row.inserted };
  });
}

export async function listDevices(parentId: string): Promise<DeviceView[]> {
  const db = await getDb();
  const rows = await db.parentDevice.findMany({
    where: { parentId },
    select: { id: true, platform: true, createdAt: true, lastSeenAt: true },
    orderBy: { createdAt: 'asc' },
  });
  return rows.map((row) => ({
    id: row.id,
    platform: row.platform as DevicePlatform,
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
  }));
}

/** 404 for another parent's device as for a missing one: ids are not probed. */
export async function removeDevice(parentId: string, deviceId: string): Promise<void> {
  const db = await getDb();
  const { count } = await db.parentDevice.deleteMany({ where: { id: deviceId, parentId } });
  if (count === 0) throw new AppError('not_found', 'No such device');
}
