/**
 * The Lambda entry point. Two kinds of event:
 *
 * - `{"force_rebuild": true}` (a synchronous invoke by `deno task rebuild`):
 *   the repository is regenerated from the packages table and republished;
 *   the answer is `{statusCode: 200, body: JSON}` with the counts, or
 *   `{statusCode: 500, body: {"error": …}}` when it fails (the invoker reads
 *   the status, as the original design says).
 * - a scheduled event (EventBridge `{"source": "aws.events", …}`, or `{}`):
 *   the scheduled sync of every package source ({@linkcode routeScheduledEvent}).
 *   A failure there is thrown, so that Lambda's error metric, retries and
 *   dead-letter queue see it.
 *
 * AWS clients, the stores and the signing keys are created once per cold
 * start from the environment variables (docs/architecture.md). Logs are
 * Powertools JSON lines carrying the request id; keys are never logged.
 *
 * @module
 */

import process from "node:process";
import { awsClients } from "./aws/clients.ts";
import type { StackOutputs } from "./environment/outputs.ts";
import { failureNotification, type Notifier } from "./notify/notifier.ts";
import { createNotifier } from "./notify/notifier.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { createMetrics, METRIC, type Metrics, MetricUnit } from "./observability/metrics.ts";
import type { RetentionOptions } from "./publish/generations.ts";
import {
  forceRebuild,
  type RebuildDependencies,
  rebuildDependencies,
  type RebuildResult,
} from "./rebuild.ts";
import { scheduledSyncForEnvironment } from "./sources/scheduled.ts";

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
  forceRebuild: () => Promise<RebuildResult>;
  /** The scheduled sync; absent in a build without sources. */
  scheduledSync?: (event: unknown) => Promise<ScheduledRunSummary>;
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
      if (kind === "force_rebuild") return await runForceRebuild(deps);
      if (kind === "scheduled") return await routeScheduledEvent(event, deps);
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

async function runForceRebuild(deps: HandlerDependencies): Promise<LambdaResponse> {
  const { logger, metrics } = deps;
  logger.info("Force rebuild requested");
  try {
    const result = await deps.forceRebuild();
    logger.info("Force rebuild done", {
      packages: result.packages,
      written: result.written,
      skipped: result.skipped,
      pruned: result.pruned,
      date: result.date,
      timings: result.timings,
    });
    metrics.addMetric(
      METRIC.publishDuration,
      MetricUnit.Milliseconds,
      Object.values(result.timings).reduce((a, b) => a + b, 0),
    );
    metrics.addMetric(METRIC.successfulRuns, MetricUnit.Count, 1);
    return json(200, {
      message: `Rebuilt the repository with ${result.packages} packages`,
      packages: result.packages,
      written: result.written,
      skipped: result.skipped,
      pruned: result.pruned,
      date: result.date,
      validUntil: result.validUntil,
      ...(result.invalidationId === undefined ? {} : { invalidationId: result.invalidationId }),
      timings: result.timings,
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
    const summary = await deps.scheduledSync(event);
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

/** The Lambda's configuration, read from its environment variables. */
export interface LambdaConfig {
  outputs: StackOutputs;
  validUntilDays: number;
  /** By-hash retention (`BY_HASH_KEEP_GENERATIONS`, `BY_HASH_KEEP_HOURS`; defaults 3 and 48). */
  retention: RetentionOptions;
}

/**
 * Reads the Lambda's environment variables (docs/architecture.md) into stack
 * outputs. Throws naming the missing or bad variable.
 */
export function configFromEnvironment(env: Record<string, string | undefined>): LambdaConfig {
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value.trim() === "") {
      throw new Error(
        `Cannot start the publisher: environment variable ${name} is not set (the stack sets it)`,
      );
    }
    return value;
  };
  const environment = need("ENVIRONMENT");
  if (environment !== "dev" && environment !== "prod" && environment !== "local") {
    throw new Error(
      `Cannot start the publisher: ENVIRONMENT must be dev, prod or local (got "${environment}")`,
    );
  }
  const days = Number(env.VALID_UNTIL_DAYS ?? "7");
  if (!Number.isFinite(days) || days <= 0) {
    throw new Error(
      `Cannot start the publisher: VALID_UNTIL_DAYS must be a positive number ` +
        `(got "${env.VALID_UNTIL_DAYS}")`,
    );
  }
  const outputs: StackOutputs = {
    environment,
    tableName: need("TABLE_NAME"),
    legacyTableName: env.LEGACY_TABLE_NAME ?? "",
    bucketName: need("BUCKET_NAME"),
    functionName: env.AWS_LAMBDA_FUNCTION_NAME ?? "",
    repoUrl: need("REPO_URL").replace(/\/+$/, ""),
    signingKeySecretId: need("SIGNING_KEY_SECRET_ID"),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
  };
  if (env.DISTRIBUTION_ID) outputs.distributionId = env.DISTRIBUTION_ID;
  if (env.NOTIFICATION_TOPIC_ARN) outputs.notificationTopicArn = env.NOTIFICATION_TOPIC_ARN;
  const retention: RetentionOptions = {};
  const generations = env.BY_HASH_KEEP_GENERATIONS;
  if (generations !== undefined && generations !== "") {
    const value = Number(generations);
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(
        "Cannot start the publisher: BY_HASH_KEEP_GENERATIONS must be a whole number >= 1 " +
          `(got "${generations}")`,
      );
    }
    retention.keepGenerations = value;
  }
  const hours = env.BY_HASH_KEEP_HOURS;
  if (hours !== undefined && hours !== "") {
    const value = Number(hours);
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(
        `Cannot start the publisher: BY_HASH_KEEP_HOURS must be a number >= 0 (got "${hours}")`,
      );
    }
    retention.keepSeconds = value * 3600;
  }
  return { outputs, validUntilDays: days, retention };
}

/**
 * The scheduled sync for the environment (`runScheduledSync` of the `sources`
 * module, bound to its table, bucket and notifier). Given `rebuild`, its
 * publish step shares the force rebuild's dependencies (retention included).
 */
export function scheduledSyncFor(
  config: LambdaConfig,
  clients: ReturnType<typeof awsClients>,
  options: { logger: Logger; rebuild?: RebuildDependencies },
): (event: unknown) => Promise<ScheduledRunSummary> {
  return scheduledSyncForEnvironment(config.outputs, clients, {
    logger: options.logger,
    validUntilDays: config.validUntilDays,
    leaseLabel: `lambda ${config.outputs.functionName}`,
    localNotificationsFile: "/tmp/kiro-notifications.jsonl",
    ...(options.rebuild === undefined ? {} : { rebuild: options.rebuild }),
  });
}

/**
 * Everything the deployed handler uses, built from the environment once per
 * cold start.
 */
export function dependenciesFromEnvironment(
  env: Record<string, string | undefined>,
): HandlerDependencies {
  const config = configFromEnvironment(env);
  const logger = createLogger({ persistentKeys: { environment: config.outputs.environment } });
  const metrics = createMetrics();
  const clients = awsClients(config.outputs);
  const rebuild = rebuildDependencies(config.outputs, clients, {
    validUntilDays: config.validUntilDays,
    retention: config.retention,
    // Reserved concurrency 1 makes a busy lease rare (a task's local publish):
    // wait for it rather than fail.
    leaseWaitMs: 5 * 60 * 1000,
    leaseLabel: `lambda ${config.outputs.functionName}`,
    onWarning: (message) => logger.warn(message),
    onProgress: (event) => logger.info(event.message, { phase: event.phase }),
  });
  const scheduledSync = scheduledSyncFor(config, clients, { logger, rebuild });
  return {
    forceRebuild: () => forceRebuild(rebuild),
    scheduledSync,
    logger,
    metrics,
    notifier: createNotifier({ sns: clients.sns, topicArn: config.outputs.notificationTopicArn }, {
      logger,
      localFile: "/tmp/kiro-notifications.jsonl",
    }),
    environment: config.outputs.environment,
  };
}

let coldStart: ((event: unknown, context?: LambdaContext) => Promise<LambdaResponse>) | undefined;

/** The Lambda entry point (`index.handler` in the bundle). */
export async function handler(event: unknown, context?: LambdaContext): Promise<LambdaResponse> {
  coldStart ??= createHandler(dependenciesFromEnvironment(process.env));
  return await coldStart(event, context);
}
