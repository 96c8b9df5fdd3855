/**
 * The Lambda's CloudWatch metrics: Powertools `Metrics` (embedded metric
 * format on stdout; CloudWatch turns the lines into metrics).
 *
 * The namespace is `$POWERTOOLS_METRICS_NAMESPACE` (set by infra to `KiroRepo`)
 * and the only dimension is Powertools' default `service`. The infra alarm
 * "no successful run" watches {@linkcode METRIC.successfulRuns}.
 *
 * @module
 */

import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import process from "node:process";
import { DEFAULT_SERVICE_NAME } from "./logger.ts";

export { Metrics, MetricUnit };

/** The namespace when `POWERTOOLS_METRICS_NAMESPACE` is not set (agreed with infra). */
export const DEFAULT_METRICS_NAMESPACE = "KiroRepo";

/** The metric names the engine emits. */
export const METRIC = {
  /** New package versions ingested and recorded (Count). */
  packagesProcessed: "PackagesProcessed",
  /** Versions found already recorded, so not downloaded (Count). */
  packagesSkipped: "PackagesSkipped",
  /** Sources that failed in a run (Count). */
  sourceFailures: "SourceFailures",
  /** Bytes of .deb downloaded and stored (Bytes). */
  bytesIngested: "BytesIngested",
  /** How long the publish took (Milliseconds). */
  publishDuration: "PublishDuration",
  /** 1 for every run that ended without error (Count): the infra alarm watches it. */
  successfulRuns: "SuccessfulRuns",
} as const;

/** Options of {@linkcode createMetrics}. */
export interface CreateMetricsOptions {
  /** Default: `$POWERTOOLS_METRICS_NAMESPACE`, else {@linkcode DEFAULT_METRICS_NAMESPACE}. */
  namespace?: string;
  /** Default: `$POWERTOOLS_SERVICE_NAME`, else the logger's default. */
  serviceName?: string;
}

/**
 * A Powertools metrics buffer. Add metrics during the run and call
 * `metrics.publishStoredMetrics()` once at the end of the invocation.
 */
export function createMetrics(options: CreateMetricsOptions = {}): Metrics {
  return new Metrics({
    namespace: options.namespace ?? process.env.POWERTOOLS_METRICS_NAMESPACE ??
      DEFAULT_METRICS_NAMESPACE,
    serviceName: options.serviceName ?? process.env.POWERTOOLS_SERVICE_NAME ??
      DEFAULT_SERVICE_NAME,
  });
}
