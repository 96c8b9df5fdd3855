/**
 * The peak resident memory of the running process, for the benchmarks: the
 * `VmHWM` of `/proc/self/status` (Linux), which starts afresh at `exec`.
 * `process.resourceUsage().maxRSS` does not: Linux carries the high-water
 * mark of the forked parent's pages across `exec`, so a Node started by the
 * bench (whose Deno process holds the stand-ins) would report the parent's
 * size. Runs under Deno and under Node (the Lambda bundle's bench entry).
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
