// The only module that reads process.env. Parsed once with zod, at each function's cold start
// (loadConfigAtStart, from the HTTP and job runtimes); a bad value stops the process with the
// variable's name so a misconfigured deploy never starts half-working.
import { z } from 'zod';

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
);

const pemCertificates = z
  .string()
  .refine(
    (s) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(s),
    'Must hold PEM certificates',
  );

const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** postgresql:// URL. Unset in Cloud Functions (the connector is used) and for the embedded DB. */
  DATABASE_URL: z.string().url().optional(),
  /** Cloud SQL instance connection name (project:region:instance): connect via the connector. */
  INSTANCE_CONNECTION_NAME: z
    .string()
    .regex(/^[^:]+:[^:]+:[^:]+$/)
    .optional(),
  DB_NAME: z.string().default('brainspark'),
  /** IAM database user (service account email without .gserviceaccount.com). */
  DB_IAM_USER: z.string().optional(),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(5),
  /** PEM CA(s) of the Cloud SQL instance: DATABASE_URL connections then verify the server. */
  DB_SERVER_CA: pemCertificates.optional(),
  /** Name the server certificate must carry (Cloud SQL: `<project>:<instance>`). */
  DB_SERVER_NAME: z.string().min(1).optional(),
  /** Folder of the embedded PGlite database used by `npm start` without DATABASE_URL. */
  EMBEDDED_DB_DIR: z.string().default('.data/pglite'),
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  REDIS_URL: z.string().url().optional(),
  /** PEM CA(s) of Memorystore (rediss:// URLs): the only roots trusted for Redis. */
  REDIS_TLS_CA: pemCertificates.optional(),
  CORS_ORIGINS: csv.default([]),
  GOOGLE_CLOUD_PROJECT: z.string().optional(),
  PUBSUB_ALERTS_TOPIC: z.string().default('parent-alerts'),
  JOB_MAX_EVENT_AGE_SECONDS: z.coerce.number().int().positive().default(3600),
  /** JSON array of private JWKs (ES256 or EdDSA, each with a `kid`); the first signs, all verify. */
  JWT_SIGNING_KEYS: z
    .string()
    .refine(isPrivateJwkList, 'Must be a non-empty JSON array of private JWKs, each with a kid')
    .optional(),
  JWT_ISSUER: z.string().default('https://auth.brainspark.app'),
  JWT_AUDIENCE: z.string().default('brainspark-api'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
  CHILD_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(14_400).default(3600),
  /** Which tutor answers children: the built-in offline tutor, or Vertex AI Gemini (only for
   * children whose parent granted data_sharing; the built-in tutor answers everyone else). */
  TUTOR_PROVIDER: z.enum(['builtin', 'vertex']).default('builtin'),
  /** Vertex AI REST base URL (tests point it at a local server). */
  VERTEX_ENDPOINT: z.string().url().default('https://us-central1-aiplatform.googleapis.com'),
  VERTEX_LOCATION: z.string().default('us-central1'),
  /** Project that hosts the model; defaults to GOOGLE_CLOUD_PROJECT. */
  VERTEX_PROJECT: z.string().optional(),
  VERTEX_MODEL: z.string().default('gemini-2.5-flash'),
  VERTEX_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(8000),
  /** How the Vertex tutor gets an access token: the metadata server (Cloud) or none (a local test server). */
  VERTEX_AUTH: z.enum(['metadata', 'none']).default('metadata'),
  /** Tutor messages a child may send per local day. */
  TUTOR_DAILY_MESSAGE_CAP: z.coerce.number().int().min(1).max(10_000).default(150),
  /** Prefix of cache keys in Redis (the leaderboard); tests use one per file. */
  CACHE_KEY_PREFIX: z.string().min(1).default('bs:cache:'),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Current versions of the required consents; a parent must grant these before child features. */
  CONSENT_VERSION_COPPA: z.string().min(1).max(20).default('2025-06'),
  CONSENT_VERSION_TERMS: z.string().min(1).max(20).default('2025-06'),
  CONSENT_VERSION_PRIVACY: z.string().min(1).max(20).default('2025-06'),
  CONSENT_VERSION_MARKETING: z.string().min(1).max(20).default('2025-06'),
  CONSENT_VERSION_DATA_SHARING: z.string().min(1).max(20).default('2025-06'),
  /** OAuth client ids accepted as the `aud` of Google / Apple ID tokens. */
  GOOGLE_CLIENT_IDS: csv.default([]),
  APPLE_CLIENT_IDS: csv.default([]),
  GOOGLE_JWKS_URL: z.string().url().default('https://www.googleapis.com/oauth2/v3/certs'),
  APPLE_JWKS_URL: z.string().url().default('https://appleid.apple.com/auth/keys'),
  /** argon2id cost; the minimums are OWASP's (19 MiB, 2 iterations). */
  PASSWORD_HASH_MEMORY_KIB: z.coerce.number().int().min(19_456).default(19_456),
  PASSWORD_HASH_ITERATIONS: z.coerce.number().int().min(2).default(2),
  /** Prefix of every rate-limit key in Redis (tests use one per run). */
  RATE_LIMIT_KEY_PREFIX: z.string().min(1).default('bs:rl:'),
  // --- Parent notifications (shared/notify) ---
  /** smtp:// or smtps:// URL with credentials (Secret Manager). Unset: no email is sent
   * (`npm start` then runs its own mail catcher and points this at it). */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, 'an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).max(200).default('BrainSpark <hello@brainspark.app>'),
  /** The parent app, for dashboard links in notifications. */
  PUBLIC_APP_URL: z.string().url().default('https://app.brainspark.app'),
  /** Where the functions are reached as /<function>/... (unsubscribe links). */
  PUBLIC_API_URL: z.string().url().default('http://127.0.0.1:8080'),
  /** FCM HTTP v1 base URL (tests point it at a local server in FCM's REST shape). */
  FCM_ENDPOINT: z.string().url().default('https://fcm.googleapis.com'),
  /** Firebase project that sends pushes; defaults to GOOGLE_CLOUD_PROJECT. Neither: no push. */
  FCM_PROJECT: z.string().min(1).optional(),
  /** How FCM calls get an access token: the metadata server (Cloud) or none (a local server). */
  FCM_AUTH: z.enum(['metadata', 'none']).default('metadata'),
  /** The metadata server (tests serve tokens from a local one). */
  METADATA_SERVER_URL: z.string().url().default('http://metadata.google.internal'),
  /** HS256 key (at least 32 characters) signing unsubscribe links. Required in production;
   * elsewhere a random key per process is used when unset. */
  NOTIFY_TOKEN_KEY: z.string().min(32).optional(),
  /** Sends tried in-process per transient error before Pub/Sub's own retry takes over. */
  NOTIFY_RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  NOTIFY_RETRY_BASE_MS: z.coerce.number().int().min(0).max(60_000).default(500),
  /** Port of the local mail catcher `npm start` runs when SMTP_URL is unset. */
  DEV_SMTP_PORT: z.coerce.number().int().min(0).max(65535).default(1025),
});

export type Config = z.infer<typeof configSchema>;

/** Checked here so a bad key list fails at start, named, not on the first sign-in. */
function isPrivateJwkList(value: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return false;
  }
  return (
    Array.isArray(parsed) &&
    parsed.length > 0 &&
    parsed.every(
      (k) =>
        typeof k === 'object' &&
        k !== null &&
        typeof (k as Record<string, unknown>).kid === 'string' &&
        typeof (k as Record<string, unknown>).d === 'string',
    )
  );
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** The environment variables at fault (names only: values may be secrets). */
    readonly variables: readonly string[] = [],
  ) {
    super(message);
  }
}

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    const variables = [...new Set(result.error.issues.map((i) => String(i.path[0] ?? '(root)')))];
    throw new ConfigError(`Invalid configuration: ${problems}`, variables);
  }
  return result.data;
}

export type FunctionKind = 'http' | 'job';

/**
 * What a deployed function cannot run without, beyond each value being well formed: a
 * database, and for HTTP functions (which sign or verify access tokens) the signing keys.
 * Only enforced with NODE_ENV=production; elsewhere the defaults (embedded database,
 * ephemeral keys) are the point.
 */
export function productionProblems(cfg: Config, kind: FunctionKind): [string, string][] {
  if (cfg.NODE_ENV !== 'production') return [];
  const problems: [string, string][] = [];
  if (!cfg.DATABASE_URL && !cfg.INSTANCE_CONNECTION_NAME)
    problems.push(['INSTANCE_CONNECTION_NAME', 'Set it (or DATABASE_URL) in production']);
  if (cfg.INSTANCE_CONNECTION_NAME && !cfg.DATABASE_URL && !cfg.DB_IAM_USER)
    problems.push(['DB_IAM_USER', 'Required with INSTANCE_CONNECTION_NAME']);
  if (kind === 'http' && !cfg.JWT_SIGNING_KEYS)
    problems.push(['JWT_SIGNING_KEYS', 'Required in production']);
  return problems;
}

/**
 * Called when a function's module loads (its cold start): parses the whole configuration
 * and checks what production needs, so a bad value stops the instance before it serves
 * anything. On failure it writes one JSON log line naming the variables (never their
 * values) and throws: the Functions Framework then reports the module as unloadable and
 * exits non-zero, and the deploy's health probe or the revision's start-up fails loudly.
 */
export function loadConfigAtStart(
  kind: FunctionKind,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  let error: ConfigError;
  try {
    const cfg = parseConfig(env);
    const problems = productionProblems(cfg, kind);
    if (problems.length === 0) return cfg;
    error = new ConfigError(
      `Invalid configuration: ${problems.map(([v, m]) => `${v}: ${m}`).join('; ')}`,
      problems.map(([v]) => v),
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    error = err;
  }
  // Not through shared/log.ts: the logger reads LOG_LEVEL from the configuration that failed.
  process.stderr.write(
    `${JSON.stringify({
      severity: 'CRITICAL',
      message: error.message,
      invalidVariables: error.variables,
      time: new Date().toISOString(),
    })}\n`,
  );
  throw error;
}

let cached: Config | undefined;

export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Tests and the local server change the environment before first use; this forgets the cache. */
export function resetConfigForTests(): void {
  cached = undefined;
}
