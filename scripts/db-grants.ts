// Gives the functions' IAM database users what they need on the schema the migrator owns.
// Runs after every migration (the Cloud Run migration job: `index.mjs up && grants.mjs ...`),
// as the migrator (DATABASE_URL), so new tables are covered on the deploy that creates them.
//   npx tsx scripts/db-grants.ts --api-user <IAM user> --jobs-user <IAM user>
// The API user (HTTP functions) gets data access only, no DDL. The jobs user joins the
// migrator's role: partition maintenance and retention create and drop partitions, which
// only the owner of a partitioned table may do.
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
  return [
    `GRANT USAGE ON SCHEMA public TO ${api}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${api}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${api}`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${api}`,
    // Objects the migrator creates later get the same grants without another run.
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${q(owner)} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${api}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${q(owner)} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${api}`,
    // The migration ledger is the migrator's alone.
    `REVOKE ALL ON TABLE "_prisma_migrations" FROM ${api}`,
    `GRANT ${q(owner)} TO ${q(targets.jobsUser)}`,
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
      `Granted data access to ${targets.apiUser} and ${owner}'s role to ${targets.jobsUser}.`,
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
