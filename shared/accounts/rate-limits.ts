// Abuse limits on Redis (shared by every instance), each with an in-process insurance limiter:
// when Redis is unreachable the limits still hold per instance, and a warning is logged once.
// Never no limit at all. Without REDIS_URL (local development) the limits are in-process.
import type { Redis } from 'ioredis';
import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { config } from '../config.ts';
import { AppError } from '../errors.ts';
import { errorFields, logger } from '../log.ts';
import { getRedis } from '../redis.ts';
import { redisFailed, redisSucceeded, usableRedis } from '../redis-breaker.ts';

interface LimitSpec {
  points: number;
  durationSeconds: number;
}

/**
 * Limits per key. PIN: 5 failures per 15 minutes (product rule), counted per child.
 * Login failures are counted per email and client address together (10 per 15 minutes): a
 * stranger guessing from their own address stops only themselves, never the owner on another
 * address. A slower ceiling per email (60 failures per hour, from any address) bounds a
 * distributed guesser; reaching it takes many addresses and lasts at most the hour.
 */
export const limitSpecs = {
  loginPerEmailAndClient: { points: 10, durationSeconds: 15 * 60 },
  loginPerEmail: { points: 60, durationSeconds: 60 * 60 },
  loginPerIp: { points: 50, durationSeconds: 15 * 60 },
  signupPerIp: { points: 20, durationSeconds: 60 * 60 },
  pinFailuresPerChild: { points: 5, durationSeconds: 15 * 60 },
  refreshPerFamily: { points: 30, durationSeconds: 60 },
} satisfies Record<string, LimitSpec>;

export type LimitName = keyof typeof limitSpecs;

export interface RateLimits {
  /** Counts one attempt; throws 429 rate_limited (with Retry-After) when over the limit. */
  consume(name: LimitName, key: string): Promise<void>;
  /** Gives back a point counted by `consume` (e.g. the PIN was right: only failures count). */
  refund(name: LimitName, key: string): Promise<void>;
}

export interface RateLimitsOptions {
  /** null: in-process only. */
  redis: Redis | null;
  keyPrefix: string;
}

function isLimiterRes(value: unknown): value is RateLimiterRes {
  return typeof value === 'object' && value !== null && 'msBeforeNext' in value;
}

function limited(res: RateLimiterRes): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  return new AppError('rate_limited', 'Too many attempts; try again later', {
    details: { retryAfterSeconds },
  });
}

export async function createRateLimits({
  redis,
  keyPrefix,
}: RateLimitsOptions): Promise<RateLimits> {
  const { RateLimiterMemory, RateLimiterRedis } = await import('rate-limiter-flexible');
  const memory = new Map<LimitName, RateLimiterAbstract>();
  const shared = new Map<LimitName, RateLimiterAbstract>();
  for (const [name, spec] of Object.entries(limitSpecs) as [LimitName, LimitSpec][]) {
    const common = {
      points: spec.points,
      duration: spec.durationSeconds,
      keyPrefix: `${keyPrefix}${name}`,
    };
    memory.set(name, new RateLimiterMemory(common));
    if (redis) shared.set(name, new RateLimiterRedis({ ...common, storeClient: redis }));
  }
  // Redis when it answers (limits shared by every instance); the in-process limiter when it
  // does not (limits per instance, never none). The breaker makes a dead Redis cost nothing.
  const run = async (
    name: LimitName,
    op: (limiter: RateLimiterAbstract) => Promise<unknown>,
  ): Promise<void> => {
    const client = usableRedis(redis);
    if (client) {
      try {
        await op(shared.get(name) as RateLimiterAbstract);
        redisSucceeded(client);
        return;
      } catch (err) {
        if (isLimiterRes(err)) throw err;
        redisFailed(client, err);
      }
    }
    await op(memory.get(name) as RateLimiterAbstract);
  };

  return {
    async consume(name, key) {
      try {
        await run(name, (limiter) => limiter.consume(key));
      } catch (err) {
        if (isLimiterRes(err)) throw limited(err);
        throw err;
      }
    },
    async refund(name, key) {
      try {
        await run(name, (limiter) => limiter.reward(key));
      } catch (err) {
        logger.error('rate limit refund failed', errorFields(err));
      }
    },
  };
}

let shared: Promise<RateLimits> | undefined;

export function rateLimits(): Promise<RateLimits> {
  shared ??= (async () =>
    createRateLimits({ redis: await getRedis(), keyPrefix: config().RATE_LIMIT_KEY_PREFIX }))();
  return shared;
}

export function resetRateLimitsForTests(): void {
  shared = undefined;
}
