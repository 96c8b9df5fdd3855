/**
 * The Lambda's structured logger: Powertools `Logger` (JSON lines, with the
 * request id once {@linkcode Logger.addContext} is called from the handler).
 *
 * Never pass secrets, signing keys or whole events to it: log names, versions,
 * sizes, hashes and error messages only.
 *
 * Timings in log lines are whole milliseconds with the unit in the key:
 * `duration_ms: 812`, `timings_ms: { sign: 12, upload: 240 }`
 * ({@linkcode wholeMilliseconds}); never a bare `duration` or a fraction
 * (`docs/design.md`, "Logs").
 *
 * @module
 */

import { Logger } from "@aws-lambda-powertools/logger";
import { Console } from "node:console";
import process from "node:process";

export { Logger };

/** The service name when `POWERTOOLS_SERVICE_NAME` is not set. */
export const DEFAULT_SERVICE_NAME = "kiro-debian-repo-manager";

/** The log levels the logger accepts (`LOG_LEVEL`). */
export type LogLevelName = "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT" | "CRITICAL";

/** Options of {@linkcode createLogger}. */
export interface CreateLoggerOptions {
  /** Default: `$POWERTOOLS_SERVICE_NAME`, else {@linkcode DEFAULT_SERVICE_NAME}. */
  serviceName?: string;
  /** Default: `$LOG_LEVEL`, else `INFO`. */
  level?: LogLevelName;
  /** Keys added to every log line (e.g. `{ environment: "dev" }`). */
  persistentKeys?: Record<string, string>;
  /**
   * Write every line to stderr (default false: Lambda's stdout). Tasks set it
   * so that their stdout holds only their report (`--json`).
   */
  toStderr?: boolean;
}

/**
 * A Powertools logger for the engine. Call `logger.addContext(context)` in the
 * handler so that every line carries the Lambda request id.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ??
    (process.env.LOG_LEVEL?.toUpperCase() as LogLevelName | undefined) ??
    "INFO";
  const logger = new Logger({
    serviceName: options.serviceName ?? process.env.POWERTOOLS_SERVICE_NAME ??
      DEFAULT_SERVICE_NAME,
    logLevel: level,
    ...(options.persistentKeys === undefined ? {} : { persistentKeys: options.persistentKeys }),
  });
  if (options.toStderr === true) {
    // Powertools prints through its protected `console`; point both streams at stderr.
    (logger as unknown as { console: Console }).console = new Console({
      stdout: process.stderr,
      stderr: process.stderr,
    });
  }
  return logger;
}

/**
 * `milliseconds` rounded to whole milliseconds, for log fields named `*_ms`
 * (a number, or each value of a record of parts such as a publish's timings).
 */
export function wholeMilliseconds(milliseconds: number): number;
export function wholeMilliseconds<K extends string>(
  milliseconds: Readonly<Record<K, number>>,
): Record<K, number>;
export function wholeMilliseconds(
  milliseconds: number | Readonly<Record<string, number>>,
): number | Record<string, number> {
  if (typeof milliseconds === "number") return Math.round(milliseconds);
  return Object.fromEntries(
    Object.entries(milliseconds).map(([part, value]) => [part, Math.round(value)]),
  );
}

/** A logger that writes nothing (tests, quiet tasks). */
export function silentLogger(): Logger {
  return createLogger({ level: "SILENT" });
}
