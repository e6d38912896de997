// Counts queries sent to a pg client that is still running another one: deprecated in pg 8,
// refused from pg 9. Transactions run on one client, so services must await each query.
import pg from 'pg';
import { vi } from 'vitest';

export interface QueryOverlapWatch {
  calls(): number;
  overlaps(): number;
  stop(): void;
}

export function watchQueryOverlaps(): QueryOverlapWatch {
  const inFlight = new Map<pg.Client, number>();
  let calls = 0;
  let overlaps = 0;
  const original = pg.Client.prototype.query;
  const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
    this: pg.Client,
    ...args: unknown[]
  ) {
    calls++;
    if ((inFlight.get(this) ?? 0) > 0) overlaps++;
    const result = (original as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) {
      inFlight.set(this, (inFlight.get(this) ?? 0) + 1);
      const done = () => inFlight.set(this, (inFlight.get(this) ?? 1) - 1);
      result.then(done, done);
    }
    return result as never;
  });
  return { calls: () => calls, overlaps: () => overlaps, stop: () => spy.mockRestore() };
}
