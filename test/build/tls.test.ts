// TLS to Cloud SQL (the migrate and restore jobs) and to Memorystore (every function) is
// verified: only the instance's CA is trusted and the certificate must name the instance the
// way Google names it (Cloud SQL: CN "<project>:<instance>", Memorystore: CN = its IP, neither
// in a subjectAltName). A TLS front (this file's certificates) stands in for the managed
// endpoint, in front of the real local PostgreSQL and Redis.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationsClientConfig } from '../../scripts/db-connection.ts';
import { createRedisClient } from '../../shared/redis.ts';
import { adminUrl } from '../helpers/db.ts';
import { TEST_REDIS_URL } from '../helpers/factories.ts';

let dir: string;
const pem: Record<string, string> = {};

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A CA, and a leaf certificate it signs with only a subject CN (as Google's have). */
async function makeCa(name: string): Promise<void> {
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
  pem[name] = await readFile(path.join(dir, `${name}.pem`), 'utf8');
}

async function makeLeaf(name: string, ca: string, cn: string): Promise<void> {
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
  ]);
  pem[name] = await readFile(path.join(dir, `${name}.pem`), 'utf8');
  pem[`${name}.key`] = await readFile(path.join(dir, `${name}.key`), 'utf8');
}

interface Front {
  port: number;
  close(): Promise<void>;
}
const fronts: Front[] = [];

/**
 * Terminates TLS with `leaf` and passes the plain stream to a local service. For PostgreSQL
 * it first answers the client's SSLRequest with 'S', as a TLS-only Cloud SQL instance does.
 */
async function tlsFront(
  leaf: string,
  target: { host: string; port: number },
  postgres: boolean,
): Promise<Front> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    const secure = () => {
      const s = new tls.TLSSocket(raw, {
        isServer: true,
        cert: pem[leaf],
        key: pem[`${leaf}.key`],
      });
      const upstream = net.connect(target.port, target.host);
      s.on('error', () => upstream.destroy());
      upstream.on('error', () => s.destroy());
      s.pipe(upstream).pipe(s);
    };
    if (postgres) {
      raw.once('data', () => {
        raw.write('S');
        secure();
      });
    } else {
      secure();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const front: Front = {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  fronts.push(front);
  return front;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tls-test-'));
  await makeCa('instance-ca');
  await makeCa('other-ca');
  await makeLeaf('cloudsql', 'instance-ca', 'test-project:brainspark-db');
  await makeLeaf('memorystore', 'instance-ca', '127.0.0.1');
  await makeLeaf('memorystore-elsewhere', 'instance-ca', '10.1.2.3');
  await makeLeaf('cloudsql-forged', 'other-ca', 'test-project:brainspark-db');
}, 60_000);

afterAll(async () => {
  await Promise.all(fronts.map((f) => f.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the migrator to Cloud SQL (scripts/db-connection.ts)', () => {
  const local = () => new URL(adminUrl());

  async function connect(leaf: string, settings: { ca?: string; name?: string; query?: string }) {
    const upstream = local();
    const front = await tlsFront(
      leaf,
      { host: upstream.hostname, port: Number(upstream.port || 5432) },
      true,
    );
    const url = new URL(adminUrl());
    url.hostname = '127.0.0.1';
    url.port = String(front.port);
    url.search = settings.query ?? '';
    const client = new pg.Client(
      operationsClientConfig({
        NODE_ENV: 'production',
        DATABASE_URL: url.toString(),
        DB_SERVER_CA: settings.ca,
        DB_SERVER_NAME: settings.name,
      }),
    );
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      return rows[0]?.one;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  it('connects when the certificate is signed by the instance CA and names the instance', async () => {
    expect(
      await connect('cloudsql', { ca: pem['instance-ca'], name: 'test-project:brainspark-db' }),
    ).toBe(1);
  });

  it('refuses a certificate naming another instance', async () => {
    await expect(
      connect('cloudsql', { ca: pem['instance-ca'], name: 'test-project:other-db' }),
    ).rejects.toThrow(/names test-project:brainspark-db, expected test-project:other-db/);
  });

  it('refuses a certificate from another CA, even when the URL says sslmode=no-verify', async () => {
    await expect(
      connect('cloudsql-forged', {
        ca: pem['instance-ca'],
        name: 'test-project:brainspark-db',
        query: '?sslmode=no-verify',
      }),
    ).rejects.toThrow(/certificate/i);
  });

  it('will not run in production with sslmode=no-verify and no CA', () => {
    expect(() =>
      operationsClientConfig({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgresql://migrator:x@10.0.0.5:5432/brainspark?sslmode=no-verify',
        DB_SERVER_CA: undefined,
        DB_SERVER_NAME: undefined,
      }),
    ).toThrow(/DB_SERVER_CA/);
  });
});

describe('the functions to Memorystore (shared/redis.ts, rediss://)', () => {
  async function ping(leaf: string, ca: string | undefined) {
    const upstream = new URL(TEST_REDIS_URL);
    const front = await tlsFront(
      leaf,
      { host: upstream.hostname, port: Number(upstream.port || 6379) },
      false,
    );
    const errors: string[] = [];
    const client = await createRedisClient({
      url: `rediss://127.0.0.1:${front.port}`,
      ...(ca ? { ca } : {}),
      onUnavailable: (err) => errors.push(err instanceof Error ? err.message : String(err)),
    });
    try {
      return { status: client.status, pong: await client.ping().catch(() => null), errors };
    } finally {
      client.disconnect();
    }
  }

  it('talks TLS to a server whose certificate the instance CA signed for its IP', async () => {
    const r = await ping('memorystore', pem['instance-ca']);
    expect(r.status).toBe('ready');
    expect(r.pong).toBe('PONG');
  });

  it('refuses a server certificate for another IP', async () => {
    const r = await ping('memorystore-elsewhere', pem['instance-ca']);
    expect(r.pong).toBeNull();
    expect(r.errors.join(' ')).toMatch(/names 10\.1\.2\.3, expected 127\.0\.0\.1/);
  });

  it('refuses a server certificate from another CA, and a self-made one without the CA', async () => {
    const forged = await ping('memorystore', pem['other-ca']);
    expect(forged.pong).toBeNull();
    expect(forged.errors.join(' ')).toMatch(/certificate/i);
    const untrusted = await ping('memorystore', undefined);
    expect(untrusted.pong).toBeNull();
  });
});
