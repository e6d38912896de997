// Gives the functions' IAM database users what they need on the schema the migrator owns.
// Runs after every migration (the Cloud Run migration job: `index.mjs up && grants.mjs ...`),
// as the migrator (DATABASE_URL), so new tables are covered on the deploy that creates them.
//   npx tsx scripts/db-grants.ts --api-user <IAM user> --jobs-user <IAM user>
// Both users get data access only: no DDL, no migration ledger. The two things they need
// the owner for go through SECURITY DEFINER functions owned by the migrator (migration
// 20261201000100): the jobs user may call create_monthly_partition (so partitions belong to
// the table owner and later migrations can still ALTER the partitioned tables); both may
// call latest_applied_migration (the health check's readiness probe).
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { config } from '../shared/config.ts';
import { operationsClientConfig } from './db-connection.ts';

export interface GrantTargets {
  apiUser: string;
  jobsUser: string;
}

/** Statements in order; identifiers are quoted by pg's escapeIdentifier, never pasted raw. */
export function grantStatements(owner: string, targets: GrantTargets): string[] {
  const q = (name: string) => pg.escapeIdentifier(name);
  const api = q(targets.apiUser);
  const jobs = q(targets.jobsUser);
  const users = `${api}, ${jobs}`;
  return [
    `GRANT USAGE ON SCHEMA public TO ${users}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${users}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${users}`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${users}`,
    // Objects the migrator creates later (partitions included) get the same grants.
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${q(owner)} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${users}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${q(owner)} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${users}`,
    // The migration ledger is the migrator's alone.
    `REVOKE ALL ON TABLE "_prisma_migrations" FROM ${users}`,
    // Creating partitions (as the owner) is the jobs user's business only.
    `REVOKE EXECUTE ON FUNCTION create_monthly_partition(TEXT, DATE) FROM ${api}`,
    // Earlier releases made the jobs user a member of the owner's role: take that back
    // (only a warning when it is not a member).
    `REVOKE ${q(owner)} FROM ${jobs}`,
  ];
}

export async function applyGrants(client: pg.Client, targets: GrantTargets): Promise<string> {
  const { rows } = await client.query<{ owner: string }>('SELECT current_user AS owner');
  const owner = rows[0]?.owner;
  if (!owner) throw new Error('Could not read current_user');
  for (const [role, label] of [
    [targets.apiUser, '--api-user'],
    [targets.jobsUser, '--jobs-user'],
  ] as const) {
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (exists.rowCount === 0)
      throw new Error(`${label} role ${role} does not exist (create the IAM user first)`);
  }
  await client.query('BEGIN');
  try {
    for (const sql of grantStatements(owner, targets)) await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
  return owner;
}

function flag(args: readonly string[], name: string): string {
  const i = args.indexOf(name);
  const value = i >= 0 ? args[i + 1] : undefined;
  if (!value) throw new Error(`${name} <role> is required`);
  return value;
}

async function main(args: readonly string[]): Promise<void> {
  const targets = { apiUser: flag(args, '--api-user'), jobsUser: flag(args, '--jobs-user') };
  const client = new pg.Client(operationsClientConfig(config()));
  await client.connect();
  try {
    const owner = await applyGrants(client, targets);
    console.log(
      `Granted ${owner}'s data access to ${targets.apiUser} and ${targets.jobsUser}, partition creation to ${targets.jobsUser}.`,
    );
  } finally {
    await client.end();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
