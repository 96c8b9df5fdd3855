/**
 * What a process used, for the benchmarks, from Linux's `/proc` (under Deno
 * and under Node: the Lambda bundle's bench entry imports it too):
 *
 * - {@linkcode peakRssKib}: the peak resident memory, `VmHWM` of
 *   `/proc/self/status`, which starts afresh at `exec`.
 *   `process.resourceUsage().maxRSS` does not: Linux carries the high-water
 *   mark of the forked parent's pages across `exec`, so a Node started by the
 *   bench would report the parent's size.
 * - {@linkcode processCpuMs}: the CPU time of this process or another (the
 *   stand-ins'), every thread, from `/proc/PID/stat`.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";

/**
 * Peak resident memory of this process in KiB: `VmHWM`, or, where there is
 * no `/proc` (not Linux), the current RSS.
 *
 * @example
 * ```ts
 * console.log(`${(peakRssKib() / 1024).toFixed(0)} MB`);
 * ```
 */
export function peakRssKib(): number {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    if (hwm !== null) return Number(hwm[1]);
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "ENOENT")) throw error;
  }
  return Math.round(process.memoryUsage().rss / 1024);
}

/** Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, every thread) of process `pid` so far, in ms,
 * from `/proc/PID/stat` (Linux).
 *
 * @example
 * ```ts
 * const before = processCpuMs("self");
 * // … the work …
 * console.log(`${processCpuMs("self") - before} ms of CPU`);
 * ```
 *
 * @param pid The process, or `self`.
 */
export function processCpuMs(pid: number | "self"): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The fields after the command name (which is in parentheses and may hold spaces).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`Cannot read the CPU time in /proc/${pid}/stat`);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}
