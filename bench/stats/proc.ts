/**
 * Readers of /proc for a process's CPU time and memory (Linux). A process that is gone or a
 * system without /proc yields `null`, never a throw, so a report can show "n/a".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks = 0;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on almost every Linux). */
export function clkTck(): number {
  if (clockTicks > 0) return clockTicks;
  try {
    clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function procCpuSeconds(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parens: fields after the last ')' are fixed.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return (utime + stime) / clkTck();
}

/** Memory figures of a process in KiB, from /proc/PID/status. */
export interface ProcMemory {
  /** Resident set size now. */
  rssKiB: number;
  /** Peak resident set size. */
  hwmKiB: number;
}

/** Reads VmRSS and VmHWM of a process; `null` when it cannot. */
export function procMemory(pid: number): ProcMemory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  const rssKiB = field('VmRSS');
  if (!Number.isFinite(rssKiB)) return null;
  const hwm = field('VmHWM');
  return { rssKiB, hwmKiB: Number.isFinite(hwm) ? hwm : rssKiB };
}

/**
 * Seconds the main thread of a process spent runnable but waiting for a CPU (the second field of
 * /proc/PID/task/PID/schedstat, ns). A server or generator that waits much is starved by other
 * load on its core: its latency then measures the machine, not the code.
 */
export function runQueueWaitSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ');
    const ns = Number(fields[1]);
    return Number.isFinite(ns) ? ns / 1e9 : null;
  } catch {
    return null;
  }
}

/** Sums CPU seconds over several processes; `null` if any of them cannot be read. */
export function totalCpuSeconds(pids: readonly number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const s = procCpuSeconds(pid);
    if (s === null) return null;
    total += s;
  }
  return total;
}

/** Sums resident memory (KiB) over several processes; `null` if any of them cannot be read. */
export function totalRssKiB(pids: readonly number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const m = procMemory(pid);
    if (m === null) return null;
    total += m.rssKiB;
  }
  return total;
}

/** One line describing the machine: CPU model, core count, memory, kernel and Node version. */
export function machineInfo(): MachineInfo {
  let cpu = 'unknown';
  let cores = 0;
  let memMiB = 0;
  let kernel = 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
    cores = (info.match(/^processor\s*:/gm) ?? []).length;
  } catch {
    // not Linux: leave the defaults
  }
  try {
    const mem = readFileSync('/proc/meminfo', 'utf8');
    memMiB = Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(mem)?.[1] ?? 0) / 1024);
  } catch {
    // not Linux
  }
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  return { cpu, cores, memMiB, kernel, node: process.version };
}

/** The machine a run happened on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memMiB: number;
  kernel: string;
  node: string;
}

/** CPU seconds of the whole machine so far (all cores), from the first line of /proc/stat. */
export function systemCpuSeconds(): { busy: number; total: number } | null {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const f = (text.split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return null;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / clkTck(), total: (busy + idle + iowait) / clkTck() };
}

/** The soft open-file limit of a process, from /proc/PID/limits; null when unknown. */
export function fdLimit(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (!m) return null;
    return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return null;
  }
}
