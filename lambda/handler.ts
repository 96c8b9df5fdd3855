/**
 * The Lambda entry point. Two kinds of event:
 *
 * - `{"force_rebuild": true}` (a synchronous invoke by `deno task rebuild`):
 *   the repository is regenerated from the packages table and republished;
 *   the answer is `{statusCode: 200, body: JSON}` with the counts, or
 *   `{statusCode: 500, body: {"error": …}}` when it fails (the invoker reads
 *   the status: `tasks/lib/remote_rebuild.ts`).
 * - a scheduled event (EventBridge `{"source": "aws.events", …}`, or `{}`):
 *   the scheduled sync of every package source ({@linkcode routeScheduledEvent}).
 *   A failure there is thrown, so that Lambda's error metric, retries and
 *   dead-letter queue see it.
 *
 * The handler only adapts the event and calls the engine; its dependencies
 * (AWS clients, stores, signing keys) are built once per cold start from the
 * environment variables by `lambda/dependencies.ts`. Logs are
 * Powertools JSON lines carrying the request id; keys are never logged.
 *
 * @module
 */

import process from "node:process";
import { dependenciesFromEnvironment } from "./dependencies.ts";
import { failureNotification, type Notifier } from "./notify/notifier.ts";
import { type Logger, wholeMilliseconds } from "./observability/logger.ts";
import { METRIC, type Metrics, MetricUnit } from "./observability/metrics.ts";
import type { RebuildResult } from "./rebuild.ts";

/** The parts of the Lambda context the handler reads. */
export interface LambdaContext {
  awsRequestId?: string;
  functionName?: string;
  functionVersion?: string;
  invokedFunctionArn?: string;
  memoryLimitInMB?: string | number;
  getRemainingTimeInMillis?: () => number;
}

/** The handler's answer. `body` is JSON text. */
export interface LambdaResponse {
  statusCode: number;
  body: string;
}

/** What a scheduled run reports (the sources' sync summary, at least this). */
export interface ScheduledRunSummary {
  /** Whether anything failed (the run is then reported as failed). */
  failed?: boolean;
  [key: string]: unknown;
}

/** What the handler calls. */
export interface HandlerDependencies {
  /** The force rebuild (with its stores, keys and lease already bound). */
  /** The force rebuild; `startedBy` says who asked, for the publish history. */
  forceRebuild: (startedBy?: string) => Promise<RebuildResult>;
  /** The scheduled sync; absent in a build without sources. */
  scheduledSync?: (event: unknown, startedBy?: string) => Promise<ScheduledRunSummary>;
  logger: Logger;
  metrics: Metrics;
  /** Told about failures (SNS on AWS, a file locally). */
  notifier?: Notifier;
  /** The environment's name, for notifications. */
  environment?: string;
}

/** The kinds of event the handler understands. */
export type EventKind = "force_rebuild" | "scheduled" | "unknown";

/** Metric: one per failed run (Count). */
export const FAILED_RUNS_METRIC = "FailedRuns";

/** Which kind of event `event` is. */
export function classifyEvent(event: unknown): EventKind {
  if (event === null || event === undefined) return "scheduled";
  if (typeof event !== "object" || Array.isArray(event)) return "unknown";
  const record = event as Record<string, unknown>;
  if ("force_rebuild" in record) return record.force_rebuild === true ? "force_rebuild" : "unknown";
  if (Object.keys(record).length === 0) return "scheduled";
  if (record.source === "aws.events" || record["detail-type"] === "Scheduled Event") {
    return "scheduled";
  }
  return "unknown";
}

function json(statusCode: number, body: unknown): LambdaResponse {
  return { statusCode, body: JSON.stringify(body) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The handler over `deps` (tests and the local in-process "Lambda" call it
 * directly; {@linkcode handler} is this over the environment's clients).
 */
export function createHandler(
  deps: HandlerDependencies,
): (event: unknown, context?: LambdaContext) => Promise<LambdaResponse> {
  return async (event, context = {}) => {
    const { logger, metrics } = deps;
    // Powertools wants a full context; it only reads these fields.
    logger.addContext({
      functionName: context.functionName ?? "local",
      functionVersion: context.functionVersion ?? "$LATEST",
      invokedFunctionArn: context.invokedFunctionArn ?? "local",
      memoryLimitInMB: Number(context.memoryLimitInMB ?? 0),
      awsRequestId: context.awsRequestId ?? crypto.randomUUID(),
      // deno-lint-ignore no-explicit-any
    } as any);
    const kind = classifyEvent(event);
    logger.info("Invocation", { kind });
    try {
      const request = `request ${context.awsRequestId ?? "local"}`;
      if (kind === "force_rebuild") {
        return await runForceRebuild(deps, `${requestedBy(event) ?? "force rebuild"} (${request})`);
      }
      if (kind === "scheduled") {
        return await routeScheduledEvent(event, deps, { startedBy: `scheduled run (${request})` });
      }
      logger.warn("Unknown event", {
        keys: typeof event === "object" && event !== null ? Object.keys(event) : typeof event,
      });
      return json(400, {
        error: 'Unknown event: send {"force_rebuild": true} or a scheduled (EventBridge) event',
      });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** The `started_by` of a force-rebuild event (what the task sends), at most 200 characters. */
function requestedBy(event: unknown): string | undefined {
  const value = (event as { started_by?: unknown }).started_by;
  return typeof value === "string" && value.trim() !== "" ? value.slice(0, 200) : undefined;
}

async function runForceRebuild(
  deps: HandlerDependencies,
  startedBy: string,
): Promise<LambdaResponse> {
  const { logger, metrics } = deps;
  logger.info("Force rebuild requested", { startedBy });
  const started = performance.now();
  try {
    const result = await deps.forceRebuild(startedBy);
    // The wall time: the parts overlap (the pool check runs while the indexes
    // are generated), so their sum is more than the rebuild took.
    const durationMs = performance.now() - started;
    // Timings: whole milliseconds, the unit in the key (lambda/observability/logger.ts).
    const timingsMs = wholeMilliseconds(result.timings);
    logger.info("Force rebuild done", {
      packages: result.packages,
      written: result.written,
      skipped: result.skipped,
      pruned: result.pruned,
      date: result.date,
      duration_ms: wholeMilliseconds(durationMs),
      timings_ms: timingsMs,
    });
    metrics.addMetric(METRIC.publishDuration, MetricUnit.Milliseconds, durationMs);
    metrics.addMetric(METRIC.successfulRuns, MetricUnit.Count, 1);
    return json(200, {
      message: `Rebuilt the repository with ${result.packages} packages`,
      packages: result.packages,
      channels: result.channels,
      written: result.written,
      skipped: result.skipped,
      pruned: result.pruned,
      date: result.date,
      validUntil: result.validUntil,
      ...(result.invalidationId === undefined ? {} : { invalidationId: result.invalidationId }),
      timings_ms: timingsMs,
    });
  } catch (error) {
    logger.error("Force rebuild failed", error as Error);
    metrics.addMetric(FAILED_RUNS_METRIC, MetricUnit.Count, 1);
    await notifyFailure(deps, "Force rebuild", error);
    return json(500, { error: `Force rebuild failed: ${messageOf(error)}` });
  }
}

/**
 * The scheduled branch: the sources' scheduled sync (`runScheduledSync` in
 * `lambda/sources/sync.ts`, bound into `deps.scheduledSync`). Without it the
 * answer is a 501 error, never a pretend success. A failed sync is thrown.
 */
export async function routeScheduledEvent(
  event: unknown,
  deps: HandlerDependencies,
  options: { startedBy?: string } = {},
): Promise<LambdaResponse> {
  const { logger, metrics } = deps;
  if (deps.scheduledSync === undefined) {
    logger.error("Scheduled sync is not available in this build");
    metrics.addMetric(FAILED_RUNS_METRIC, MetricUnit.Count, 1);
    return json(501, {
      error: "Scheduled sync is not available in this build: lambda/sources/sync.ts " +
        "runScheduledSync is not wired into lambda/handler.ts (scheduledSyncFor)",
    });
  }
  try {
    const summary = await deps.scheduledSync(event, options.startedBy);
    if (summary.failed === true) {
      metrics.addMetric(FAILED_RUNS_METRIC, MetricUnit.Count, 1);
      logger.error("Scheduled sync finished with failures", { summary });
      return json(500, { error: "Scheduled sync finished with failures", ...summary });
    }
    metrics.addMetric(METRIC.successfulRuns, MetricUnit.Count, 1);
    logger.info("Scheduled sync done", { summary });
    return json(200, { message: "Scheduled sync done", ...summary });
  } catch (error) {
    logger.error("Scheduled sync failed", error as Error);
    metrics.addMetric(FAILED_RUNS_METRIC, MetricUnit.Count, 1);
    await notifyFailure(deps, "Scheduled sync", error);
    throw error;
  }
}

async function notifyFailure(deps: HandlerDependencies, what: string, error: unknown) {
  if (deps.notifier === undefined) return;
  try {
    await deps.notifier.notify(
      failureNotification(what, messageOf(error), { environment: deps.environment ?? "unknown" }),
    );
  } catch (notifyError) {
    deps.logger.error("Cannot send the failure notification", notifyError as Error);
  }
}

let coldStart: ((event: unknown, context?: LambdaContext) => Promise<LambdaResponse>) | undefined;

/** The Lambda entry point (`index.handler` in the bundle). */
export async function handler(event: unknown, context?: LambdaContext): Promise<LambdaResponse> {
  coldStart ??= createHandler(dependenciesFromEnvironment(process.env));
  return await coldStart(event, context);
}
