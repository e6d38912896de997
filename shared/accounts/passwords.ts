// argon2id at or above OWASP's minimum (19 MiB, 2 iterations, parallelism 1), for parent
// passwords and child PINs alike. The cost comes from config so it can only be raised.
import { config } from '../config.ts';

async function argon2() {
  return import('@node-rs/argon2');
}

function options() {
  const cfg = config();
  return {
    algorithm: 2 as const, // Algorithm.Argon2id (const enum, not importable under isolatedModules)
    memoryCost: cfg.PASSWORD_HASH_MEMORY_KIB,
    timeCost: cfg.PASSWORD_HASH_ITERATIONS,
    parallelism: 1,
  };
}

export async function hashSecret(secret: string): Promise<string> {
  const { hash } = await argon2();
  return hash(secret, options());
}

export async function verifySecret(storedHash: string, secret: string): Promise<boolean> {
  const { verify } = await argon2();
  try {
    return await verify(storedHash, secret);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/** Spends the same time as a real check so unknown emails cannot be told apart by timing. */
export async function burnVerification(secret: string): Promise<void> {
  dummyHash ??= hashSecret('not-a-real-password-for-timing');
  await verifySecret(await dummyHash, secret);
}
