export {};
import { getDb, closeDatabase } from '../../shared/db/client.ts';
const db = await getDb();
async function measure(name: string, fn: () => Promise<unknown>, n = 3000, conc = 10) {
  for (let i = 0; i < 300; i++) await fn();
  const cpu = process.cpuUsage(); const t = performance.now();
  let i = 0;
  await Promise.all(Array.from({ length: conc }, async () => { while (i++ < n) await fn(); }));
  const used = process.cpuUsage(cpu); const ms = performance.now() - t;
  console.log(name.padEnd(28), ((used.user + used.system) / 1000 / n).toFixed(3), 'ms CPU/op', (n / ms * 1000).toFixed(0), 'op/s');
}
const pool = (await import('../../shared/db/client.ts')).getPool;
const pg = await pool();
for (let r = 0; r < 2; r++) {
await measure('pg tx (BEGIN,2,COMMIT)', async () => { const c = await pg.connect(); try { await c.query('BEGIN'); await c.query("SELECT set_config('a.b',$1,true)", ['x']); await c.query('SELECT $1::int + 1 AS n', [1]); await c.query('COMMIT'); } finally { c.release(); } });
await measure('prisma interactive', () => db.$transaction(async (tx) => { await tx.$executeRaw`SELECT set_config('a.b',${'x'},true)`; return tx.$queryRaw`SELECT ${1}::int + 1 AS n`; }));
await measure('prisma batch', () => db.$transaction([db.$executeRaw`SELECT set_config('a.b',${'x'},true)`, db.$queryRaw`SELECT ${1}::int + 1 AS n`]));
await measure('pg single', () => pg.query('SELECT $1::int + 1 AS n', [1]));
await measure('prisma $queryRaw single', () => db.$queryRaw`SELECT ${1}::int + 1 AS n`);
}
await closeDatabase();
