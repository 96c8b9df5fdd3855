/**
 * The Lambda's structured logger: Powertools `Logger` (JSON lines, with the
 * request id once {@linkcode Logger.addContext} is called from the handler).
 *
 * Never pass secrets, signing keys or whole events to it: log names, versions,
 * sizes, hashes and error messages only.
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

/** A logger that writes nothing (tests, quiet tasks). */
export function silentLogger(): Logger {
  return createLogger({ level: "SILENT" });
}
