/**
 * A Powertools logger (`lambda/observability/logger.ts`) whose JSON lines are
 * kept in memory, parsed: what CloudWatch would receive.
 *
 * @module
 */

import { Console } from "node:console";
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../lambda/observability/logger.ts";

/** A logger at INFO and the lines it wrote so far. */
export function keptLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "INFO", serviceName: "test" });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) {
        if (line.trim() !== "") lines.push(JSON.parse(line));
      }
      done();
    },
  });
  // Powertools prints through its protected `console` (as createLogger's toStderr does).
  (logger as unknown as { console: Console }).console = new Console({
    stdout: sink,
    stderr: sink,
  });
  return { logger, lines };
}

/** Every field of `value` whose name says it is a time span, with its path. */
export function timingFields(value: unknown, path = ""): [string, unknown][] {
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const at = path === "" ? key : `${path}.${key}`;
    const own: [string, unknown][] = /duration|timing|elapsed|seconds|_ms$/i.test(key)
      ? [[at, inner]]
      : [];
    return [...own, ...timingFields(inner, at)];
  });
}
