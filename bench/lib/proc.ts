import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
export const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the `(comm)`, which may itself hold spaces or parentheses. */
function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime of a process (all its threads), in clock ticks; 0 if it is gone. */
export function cpuTicks(pid: number): number {
  const f = statFields(pid);
  // After the comm: state(3) ppid(4) ... utime(14) stime(15) → indices 11 and 12.
  return f ? Number(f[11]) + Number(f[12]) : 0;
}

/** User and system CPU time of a process, in microseconds. */
export function cpuSplitMicros(pid: number): { user: number; system: number } {
  const f = statFields(pid);
  if (!f) return { user: 0, system: 0 };
  return { user: (Number(f[11]) * 1e6) / CLK_TCK, system: (Number(f[12]) * 1e6) / CLK_TCK };
}

/**
 * utime + stime of a process's main thread (the task whose id is the pid: for Node.js, the event
 * loop), in microseconds; cpuMicros minus this is what its other threads used (worker threads,
 * V8's GC helpers, libuv's pool).
 */
export function mainThreadCpuMicros(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Summed CPU time of several processes, in microseconds. */
export function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += cpuTicks(pid);
  return (ticks * 1e6) / CLK_TCK;
}

/** Direct children of a process (e.g. an nginx master's workers). */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && Number(f[1]) === parent) out.push(Number(name));
  }
  return out;
}

/** A `Vm*` line of /proc/<pid>/status, in bytes (VmHWM: peak RSS; VmRSS: current RSS). */
export function vmBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  node: string;
  kernel: string;
  memory: string;
  date: string;
  nginx: string;
  wrk: string;
}

export function machineInfo(): MachineInfo {
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
      // nginx -v and wrk -v write to stderr (wrk also exits 1)
      const e = err as { stderr?: string; stdout?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
    }
  };
  let cpuModel = 'unknown';
  try {
    cpuModel = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  const nginxOut = run('sh', ['-c', '/usr/sbin/nginx -v 2>&1']);
  return {
    nproc: Number(run('nproc', [])) || os.cpus().length,
    cpuModel,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    date: new Date().toISOString(),
    nginx: nginxOut.replace(/^nginx version:\s*/, ''),
    wrk: run('sh', ['-c', 'wrk -v 2>&1 | head -1']).split(' Copyright')[0] ?? 'wrk',
  };
}
