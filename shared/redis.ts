// One lazily created Redis client per process. Short timeouts and few retries: callers
// (the rate limiters) fall back to in-process state rather than wait on a sick Redis.
import type { Redis } from 'ioredis';
import { config } from './config.ts';
import { errorFields, logger } from './log.ts';
import { pinnedTls } from './tls.ts';

let clientPromise: Promise<Redis | null> | undefined;

export interface RedisClientOptions {
  url: string;
  /** PEM CA of the server for rediss:// URLs (Memorystore's server_ca_certs). */
  ca?: string;
  /** Logged once per outage so a dead Redis is visible without flooding the logs. */
  onUnavailable?: (err: unknown) => void;
}

export async function createRedisClient({
  url,
  ca,
  onUnavailable,
}: RedisClientOptions): Promise<Redis> {
  const { Redis } = await import('ioredis');
  // rediss://: verified TLS, against the instance's CA when given, else the system's roots.
  const tlsOptions = url.startsWith('rediss://')
    ? { tls: ca ? pinnedTls({ ca }) : { rejectUnauthorized: true } }
    : {};
  const client = new Redis(url, {
    ...tlsOptions,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 1,
    // A Redis that stops answering on an open socket (failover, partition) must not hang
    // requests: the command fails and the limiter uses its in-process fallback.
    commandTimeout: 500,
    enableOfflineQueue: true,
    // Keep trying in the background (capped backoff) so the limiter returns to Redis.
    retryStrategy: (times) => Math.min(times * 200, 5000),
  });
  let reported = false;
  client.on('error', (err: unknown) => {
    if (reported) return;
    reported = true;
    (onUnavailable ?? ((e) => logger.warn('redis unavailable', errorFields(e))))(err);
  });
  client.on('ready', () => {
    reported = false;
  });
  // Connect now and wait briefly: callers skip a client that is not ready (the limiters use
  // their in-process fallback), so a healthy Redis must be ready before first use. A dead one
  // costs at most the connect timeout, once; failures surface via 'error' and `status`.
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, 1500);
    client.once('ready', done);
    client.once('error', done);
    client.connect().catch(() => undefined);
  });
  return client;
}

/** The process's client, or null when REDIS_URL is not configured (local development). */
export function getRedis(): Promise<Redis | null> {
  clientPromise ??= (async () => {
    const { REDIS_URL: url, REDIS_TLS_CA: ca } = config();
    return url ? createRedisClient({ url, ...(ca ? { ca } : {}) }) : null;
  })();
  return clientPromise;
}

export async function closeRedis(): Promise<void> {
  const pending = clientPromise;
  clientPromise = undefined;
  const client = pending ? await pending : null;
  client?.disconnect();
}
