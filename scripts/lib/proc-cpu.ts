// CPU time of other processes on this machine (PostgreSQL backends, for the benchmarks), read
// from /proc/<pid>/stat: utime + stime in clock ticks (USER_HZ, 100 on Linux).
import { readFileSync } from 'node:fs';

/** User + system CPU of `pids` in ms; a process that ended meanwhile counts as 0. */
export function processCpuMs(pids: Iterable<number>): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name, which may itself hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // ended between listing and reading
    }
  }
  return ticks * 10;
}
