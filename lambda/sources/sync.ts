/**
 * The scheduled sync: ask every configured source for its newest version,
 * ingest the versions not recorded yet, then publish the repository once.
 *
 * - A version already recorded is skipped before anything is downloaded
 *   (`docs/design.md`, "Sources").
 * - One failing source never stops the others; every failure is logged,
 *   counted, notified and listed in the summary. The run fails only when every
 *   source it asked failed (or the publish itself failed).
 * - The repository is published when something new was recorded, when there
 *   is no `Release` yet, when less than half of the live `Release`'s validity
 *   (`Date` → `Valid-Until`) is left — so the signature never lapses even when
 *   nothing changes — or when the live repository differs from the table
 *   (`lambda/publish/convergence.ts`: an identity recorded, withdrawn or
 *   reinstated whose own publish did not happen, or `Release` and
 *   `Release.gpg` that do not match), or when the daily full check of the
 *   pool objects is due (a publish checks only the new identities' objects
 *   otherwise).
 * - A withdrawn version is never ingested again; the summary says so.
 *
 * @module
 */

import type { ChannelPolicy } from "../domain/channels.ts";
import type { Logger } from "@aws-lambda-powertools/logger";
import { wholeMilliseconds } from "../observability/logger.ts";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { isPublished } from "../domain/package_record.ts";
import { failureNotification, newPackageNotification, type Notifier } from "../notify/notifier.ts";
import { METRIC } from "../observability/metrics.ts";
import { checkConvergence } from "../publish/convergence.ts";
import { parseRelease } from "../repo/release.ts";
import type { ObjectStore } from "../aws/object_store.ts";
import type { LoadedPackageConfig } from "./config.ts";
import type { SourceHandler } from "./handler_types.ts";
import type { RecordStore } from "./ingest.ts";
import type { RecordLister } from "../store/package_store.ts";
import { createSourceHandlers } from "./router.ts";
import {} from "./fetch.ts";
import { redactUrl } from "../redact.ts";
import { notesWereCut } from "../domain/record_from_deb.ts";

/** The live `Release` the sync checks for freshness (suite `stable`). */
export const DEFAULT_RELEASE_KEY = "dists/stable/Release";

/** The records the sync reads and writes (a `PackageStore` fits). */
export interface SyncRecordStore extends RecordStore, RecordLister {}

/** What {@linkcode runScheduledSync} needs; clients are created by the caller. */
export interface SyncDeps {
  /** The validated package configurations. */
  configs: readonly LoadedPackageConfig[];
  objects: ObjectStore;
  records: SyncRecordStore;
  /** Publishes the whole repository from the table (`forceRebuild`). Called at most once. */
  publish: () => Promise<unknown>;
  notifier: Notifier;
  /** `local`, `dev` or `prod`: named in notifications and the summary. */
  environment: string;
  logger?: Logger;
  metrics?: Metrics;
  now?: () => Date;
  fetch?: typeof fetch;
  /** Retries of the small fetches after transient failures (default 2), and the first wait (ms). */
  retries?: number;
  retryDelayMs?: number;
  /** The handlers (default: one per config, from the router). For tests. */
  handlers?: readonly SourceHandler[];
  /** The live Release's key (default {@linkcode DEFAULT_RELEASE_KEY}). */
  releaseKey?: string;
  /** The channels and their retention, for the convergence check (default `stable`, `beta`). */
  policy?: ChannelPolicy;
  /** The architectures the repository publishes (stack output `architectures`). */
  architectures?: readonly string[] | undefined;
  /**
   * Why the daily full check of the pool objects is due (`fullPoolCheckDue`
   * in `lambda/publish/pool_check.ts`), or `undefined`: the run then
   * publishes, and the publish checks every listed pool object.
   */
  fullPoolCheckDue?: (now: Date) => Promise<string | undefined>;
}

/** A version ingested by the run. */
export interface NewPackage {
  package_name: string;
  version: string;
  pool_key: string;
  file_size: number;
  sha256: string;
  /** Present when the release notes were longer than the record keeps, and cut. */
  notes_cut?: string;
}

/** A package the run did not ingest, and why. */
export interface SkippedPackage {
  package_name: string;
  version?: string;
  reason: string;
}

/** A source that failed. */
export interface SourceFailure {
  package_name: string;
  /** The error's class (`FetchError`, `SignatureError`, …). */
  error_type: string;
  error: string;
}

/** What a run did: printed by `deno task sync`, returned by the Lambda. */
export interface SyncSummary {
  environment: string;
  started_at: string;
  finished_at: string;
  new_packages: NewPackage[];
  skipped: SkippedPackage[];
  failures: SourceFailure[];
  bytes_ingested: number;
  published: boolean;
  /** Why the run published (empty when it did not). */
  publish_reasons: string[];
  publish_duration_ms?: number;
  publish_error?: string;
}

/** The run failed: every source failed, or the publish did. Carries the summary. */
export class SyncFailedError extends Error {
  readonly summary: SyncSummary;
  constructor(message: string, summary: SyncSummary) {
    super(message);
    this.name = "SyncFailedError";
    this.summary = summary;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Why the live Release must be re-signed, or `undefined` when it is fresh:
 * missing dates, or less than half of its validity period left at `now`.
 */
export function resignReason(releaseText: string, now: Date): string | undefined {
  const { date, validUntil } = parseRelease(releaseText);
  if (date === undefined || validUntil === undefined) {
    return "the live Release has no readable Date or Valid-Until";
  }
  const total = validUntil.getTime() - date.getTime();
  const left = validUntil.getTime() - now.getTime();
  if (total <= 0 || left < total / 2) {
    return `the live Release is valid until ${validUntil.toISOString()}: less than half of its validity is left`;
  }
  return undefined;
}

/**
 * Runs one scheduled sync and returns its summary. Throws
 * {@linkcode SyncFailedError} (with the summary) when every source asked
 * failed, or when the publish failed.
 */
export async function runScheduledSync(deps: SyncDeps): Promise<SyncSummary> {
  const now = deps.now ?? (() => new Date());
  const log = deps.logger;
  const metrics = deps.metrics;
  const summary: SyncSummary = {
    environment: deps.environment,
    started_at: now().toISOString(),
    finished_at: "",
    new_packages: [],
    skipped: [],
    failures: [],
    bytes_ingested: 0,
    published: false,
    publish_reasons: [],
  };
  const handlers = deps.handlers ?? createSourceHandlers(deps.configs, {
    objects: deps.objects,
    records: deps.records,
    ...(log === undefined ? {} : { logger: log }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.retries === undefined ? {} : { retries: deps.retries }),
    ...(deps.retryDelayMs === undefined ? {} : { retryDelayMs: deps.retryDelayMs }),
    architectures: deps.architectures,
  });

  const notify = async (make: () => ReturnType<typeof newPackageNotification>) => {
    try {
      await deps.notifier.notify(make());
    } catch (error) {
      log?.error("Cannot send a notification", { error: describe(error) });
    }
  };

  let asked = 0;
  for (const handler of handlers) {
    const { config, file } = handler.loaded;
    const name = config.package_name;
    if (config.enabled === false) {
      summary.skipped.push({ package_name: name, reason: `disabled (enabled: false in ${file})` });
      continue;
    }
    if (!handler.scheduled) {
      summary.skipped.push({
        package_name: name,
        reason:
          `source.type ${config.source.type}: versions are recorded by a task, nothing to fetch`,
      });
      continue;
    }
    asked++;
    try {
      const candidate = await handler.checkNewVersion();
      if (candidate === undefined) {
        summary.skipped.push({ package_name: name, reason: "the source offers no version" });
        continue;
      }
      const identity = {
        package_name: name,
        version: candidate.version,
        architecture: config.architecture,
      };
      const recorded = await deps.records.get(identity);
      if (recorded !== undefined) {
        const withdrawn = !isPublished(recorded);
        log?.info(withdrawn ? "Withdrawn, not ingested again" : "Already recorded", {
          package: name,
          version: candidate.version,
          architecture: config.architecture,
        });
        summary.skipped.push({
          package_name: name,
          version: candidate.version,
          reason: withdrawn
            ? `withdrawn on ${recorded.withdrawn_at ?? "an unknown date"} by ${
              recorded.withdrawn_by ?? "an unknown operator"
            } (${recorded.withdraw_reason ?? "no reason given"}): not ingested again; ` +
              "deno task reinstate brings it back"
            : "already recorded",
        });
        metrics?.addMetric(METRIC.packagesSkipped, MetricUnit.Count, 1);
        continue;
      }
      log?.info("New version", {
        package: name,
        version: candidate.version,
        url: redactUrl(candidate.deb_url),
      });
      const { record, outcome } = await handler.acquire(candidate);
      if (outcome === "unchanged") {
        summary.skipped.push({
          package_name: name,
          version: record.version,
          reason: "already recorded",
        });
        continue;
      }
      summary.new_packages.push({
        package_name: name,
        version: record.version,
        pool_key: record.pool_key,
        file_size: record.file_size,
        sha256: record.sha256_hash,
        ...(notesWereCut(record)
          ? {
            notes_cut:
              "the release notes were cut to 64 KiB (NOTES_LIMIT_BYTES): the record keeps the start",
          }
          : {}),
      });
      summary.bytes_ingested += record.file_size;
      metrics?.addMetric(METRIC.packagesProcessed, MetricUnit.Count, 1);
      metrics?.addMetric(METRIC.bytesIngested, MetricUnit.Bytes, record.file_size);
      await notify(() =>
        newPackageNotification(record, { environment: deps.environment, now: now() })
      );
    } catch (error) {
      const failure: SourceFailure = {
        package_name: name,
        error_type: errorType(error),
        error: describe(error),
      };
      summary.failures.push(failure);
      log?.error("Source failed", {
        package: name,
        errorType: failure.error_type,
        error: failure.error,
      });
      metrics?.addMetric(METRIC.sourceFailures, MetricUnit.Count, 1);
      await notify(() =>
        failureNotification(`Sync of ${name}`, failure.error, {
          environment: deps.environment,
          now: now(),
          details: { package_name: name, error_type: failure.error_type },
        })
      );
    }
  }

  summary.publish_reasons = await publishReasons(deps, summary, now(), log);
  if (summary.publish_reasons.length > 0) {
    const started = performance.now();
    try {
      log?.info("Publishing", { reasons: summary.publish_reasons });
      await deps.publish();
      summary.published = true;
    } catch (error) {
      summary.publish_error = describe(error);
      log?.error("Publish failed", { error: summary.publish_error });
      metrics?.addMetric(METRIC.sourceFailures, MetricUnit.Count, 1);
      await notify(() =>
        failureNotification("Publish", summary.publish_error as string, {
          environment: deps.environment,
          now: now(),
        })
      );
    } finally {
      summary.publish_duration_ms = wholeMilliseconds(performance.now() - started);
      metrics?.addMetric(
        METRIC.publishDuration,
        MetricUnit.Milliseconds,
        summary.publish_duration_ms,
      );
    }
  }
  summary.finished_at = now().toISOString();

  if (summary.publish_error !== undefined) {
    throw new SyncFailedError(`The sync could not publish: ${summary.publish_error}`, summary);
  }
  if (asked > 0 && summary.failures.length === asked) {
    throw new SyncFailedError(
      `Every source failed: ${
        summary.failures.map((failure) => `${failure.package_name}: ${failure.error}`).join("; ")
      }`,
      summary,
    );
  }
  log?.info("Sync finished", {
    newPackages: summary.new_packages.length,
    skipped: summary.skipped.length,
    failures: summary.failures.length,
    published: summary.published,
    // Timings: whole milliseconds, the unit in the key (lambda/observability/logger.ts).
    duration_ms: wholeMilliseconds(
      Date.parse(summary.finished_at) - Date.parse(summary.started_at),
    ),
    ...(summary.publish_duration_ms === undefined
      ? {}
      : { publish_duration_ms: summary.publish_duration_ms }),
  });
  return summary;
}

async function publishReasons(
  deps: SyncDeps,
  summary: SyncSummary,
  now: Date,
  log: Logger | undefined,
): Promise<string[]> {
  const reasons: string[] = [];
  if (summary.new_packages.length > 0) {
    reasons.push(`${summary.new_packages.length} new package version(s)`);
  }
  const key = deps.releaseKey ?? DEFAULT_RELEASE_KEY;
  let release: Uint8Array | undefined;
  try {
    release = await deps.objects.get(key);
  } catch (error) {
    log?.warn("Cannot read the live Release", { key, error: describe(error) });
    reasons.push(`the live Release (${key}) cannot be read`);
    return reasons;
  }
  if (release === undefined) {
    reasons.push(`no Release is published yet (${key})`);
    return reasons;
  }
  const text = new TextDecoder().decode(release);
  const stale = resignReason(text, now);
  if (stale !== undefined) reasons.push(stale);
  const fullCheck = await deps.fullPoolCheckDue?.(now);
  if (fullCheck !== undefined) reasons.push(fullCheck);
  if (reasons.length > 0) return reasons;
  // The live repository converges to the table: a cheap comparison of the
  // live Release/Packages (and Release.gpg) with the published records.
  const records = await deps.records.listAll({ forPublishing: true });
  const { reasons: differences } = await checkConvergence(records, { objects: deps.objects }, {
    ...(deps.policy === undefined ? {} : { channels: deps.policy.channels }),
    ...(deps.policy?.keepVersions === undefined ? {} : { keepVersions: deps.policy.keepVersions }),
  });
  if (differences.length > 0) {
    const shown = differences.slice(0, 5).join("; ");
    const more = differences.length > 5 ? `; and ${differences.length - 5} more` : "";
    reasons.push(`the live repository differs from the table: ${shown}${more}`);
  }
  return reasons;
}
