// STAND-IN for the lead's foundation (issue 10); replaced on merge.
export function dbErrorOf(err: unknown): { code?: string; constraint?: string; message?: string } {
  const e = err as {
    code?: string;
    constraint?: string;
    message?: string;
    meta?: { driverAdapterError?: { cause?: { originalCode?: string; originalMessage?: string; constraint?: { index?: string } } } };
  };
  const cause = e?.meta?.driverAdapterError?.cause;
  if (cause) {
    return { code: cause.originalCode, constraint: cause.constraint?.index, message: cause.originalMessage };
  }
  return { code: e?.code, constraint: e?.constraint, message: e?.message };
}
