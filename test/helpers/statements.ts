// Counts database round trips: every pg `Client#query` call made by the clients of one pool
// (the pool the functions use: Prisma reaches it through @prisma/adapter-pg, raw pg through
// `pool.query` / `client.query`), while a piece of work (one HTTP request) is in flight.
// BEGIN, COMMIT and every `$queryRaw` are one each, wherever they come from.
//
//   const statements = watchStatements(db.pool);
//   const { result, count, statements: sent } = await statements.during(() => api().get(...));
//
// Only clients the pool hands out are counted (tagged on the pool's 'acquire' event), so a
// second pool in the same process (an admin connection, another test's) does not inflate it.
// Work must not overlap: statements are attributed to the window open at the time they are sent.
import pg from 'pg';

export interface SentStatement {
  /** SQL text as sent (Prisma's generated SQL, or the literal text of a raw pg call). */
  text: string;
  /** Bound parameters as handed to pg (after Prisma's own mapping), or [] when none. */
  values: unknown[];
  /** Which pooled client sent it (1, 2, ... in order of first use within the window). */
  client: number;
  /** performance.now() when it was sent. */
  at: number;
}

export interface StatementWatch {
  /** Runs `work` and returns its result with the statements the pool's clients sent meanwhile. */
  during<T>(
    work: () => Promise<T>,
  ): Promise<{ result: T; count: number; statements: SentStatement[] }>;
  /** Stops watching this pool (the prototype patch stays, inert, for other watches). */
  stop(): void;
}

type QueryFn = (...args: unknown[]) => unknown;

interface Window {
  clients: WeakSet<object>;
  ids: WeakMap<object, number>;
  nextId: number;
  sent: SentStatement[] | undefined;
}

const windows = new Set<Window>();
let patched = false;

function textOf(first: unknown): { text: string; values: unknown[] } {
  if (typeof first === 'string') return { text: first, values: [] };
  const config = first as { text?: unknown; values?: unknown } | null;
  return {
    text: typeof config?.text === 'string' ? config.text : String(first),
    values: Array.isArray(config?.values) ? config.values : [],
  };
}

function patchClientQuery(): void {
  if (patched) return;
  patched = true;
  const original = pg.Client.prototype.query as unknown as QueryFn;
  (pg.Client.prototype as unknown as { query: QueryFn }).query = function (
    this: object,
    ...args: unknown[]
  ) {
    for (const w of windows) {
      if (!w.sent || !w.clients.has(this)) continue;
      const { text, values } = textOf(args[0]);
      let id = w.ids.get(this);
      if (id === undefined) {
        id = w.nextId++;
        w.ids.set(this, id);
      }
      w.sent.push({
        text,
        values: Array.isArray(args[1]) ? (args[1] as unknown[]) : values,
        client: id,
        at: performance.now(),
      });
    }
    return original.apply(this, args);
  };
}

export function watchStatements(pool: pg.Pool): StatementWatch {
  patchClientQuery();
  const w: Window = { clients: new WeakSet(), ids: new WeakMap(), nextId: 1, sent: undefined };
  const tag = (client: pg.PoolClient) => {
    w.clients.add(client);
  };
  pool.on('connect', tag);
  pool.on('acquire', tag);
  windows.add(w);
  return {
    async during(work) {
      if (w.sent) throw new Error('watchStatements: windows on one pool must not overlap');
      const sent: SentStatement[] = [];
      w.sent = sent;
      w.ids = new WeakMap();
      w.nextId = 1;
      try {
        const result = await work();
        return { result, count: sent.length, statements: sent };
      } finally {
        w.sent = undefined;
      }
    },
    stop() {
      pool.off('connect', tag);
      pool.off('acquire', tag);
      windows.delete(w);
    },
  };
}

/** One line per statement, for a failure message: "[client] SQL (collapsed, shortened)". */
export function describeStatements(statements: readonly SentStatement[], width = 140): string {
  return statements
    .map((s, i) => {
      const sql = s.text.replace(/\s+/g, ' ').trim();
      return `  ${String(i + 1).padStart(2)}. [c${s.client}] ${sql.length > width ? `${sql.slice(0, width)}...` : sql}`;
    })
    .join('\n');
}
