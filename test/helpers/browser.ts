// Chromium runs on the real clock: CI's shifted-clock runs preload libfaketime into the test
// process, and Chromium hangs under it (a page never reaches `load`). What a browser test
// renders does not depend on the date.
export function realClockEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !/^(LD_PRELOAD|FAKETIME)/.test(e[0]),
    ),
  );
}
