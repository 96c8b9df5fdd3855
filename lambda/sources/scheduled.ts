/**
 * The scheduled sync bound to an environment: its table, bucket, publisher,
 * notifier, logger and metrics. The Lambda handler (`scheduledSyncFor`) and
 * `deno task sync local` both build their sync here, so that the local run is
 * the deployed code path.
 *
 * @module
 */

import process from "node:process";
import type { AwsClients } from "../aws/clients.ts";
import type { StackOutputs } from "../environment/outputs.ts";
import { createNotifier, type Notifier } from "../notify/notifier.ts";
import type { Logger } from "../observability/logger.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import {
  forceRebuild,
  objectStoreFor,
  type RebuildDependencies,
  rebuildDependencies,
} from "../rebuild.ts";
import { PackageStore } from "../store/package_store.ts";
import { BUNDLED_CONFIG_FILES } from "./bundled_configs.ts";
import {
  type ConfigFile,
  type LoadedPackageConfig,
  loadPackageConfigs,
  parsePackageConfigs,
} from "./config.ts";
import { runScheduledSync, type SyncSummary } from "./sync.ts";

/** Options of {@linkcode scheduledSyncForEnvironment}. */
export interface ScheduledSyncOptions {
  logger: Logger;
  /**
   * Where the run's metrics go. When absent, the sync makes its own buffer and
   * flushes it at the end of each run.
   */
  metrics?: Metrics;
  /** `Valid-Until` = `Date` + this many days (the Lambda's `VALID_UNTIL_DAYS`). */
  validUntilDays?: number;
  /**
   * The package configurations. Default: the folder named by
   * `$KIRO_PACKAGE_CONFIG_DIR` when it is set (a local or test Lambda pointed
   * at other sources), else the ones bundled with the code.
   */
  configFiles?: readonly ConfigFile[];
  /** Where the local notifier appends (no SNS topic). */
  localNotificationsFile?: string;
  /** Overrides the notifier. */
  notifier?: Notifier;
  /** Who takes the publisher lease (for messages). */
  leaseLabel?: string;
  /** How long to wait for a busy publisher lease (ms). Default 5 minutes. */
  leaseWaitMs?: number;
  /**
   * The publish step's dependencies, when the caller already has them (the
   * Lambda handler shares its force rebuild's, with its retention settings).
   * Default: built from `outputs` with the options above.
   */
  rebuild?: RebuildDependencies;
}

async function packageConfigs(
  files: readonly ConfigFile[] | undefined,
): Promise<LoadedPackageConfig[]> {
  if (files !== undefined) return parsePackageConfigs(files);
  const dir = process.env.KIRO_PACKAGE_CONFIG_DIR;
  if (dir !== undefined && dir !== "") return await loadPackageConfigs(dir);
  return parsePackageConfigs(BUNDLED_CONFIG_FILES);
}

/** A scheduled run's answer: the summary, plus the handler's `failed` flag. */
export type ScheduledSyncResult = SyncSummary & { failed: boolean; [key: string]: unknown };

/**
 * The scheduled sync of an environment. Configurations are validated on the
 * first run (a bad one fails the scheduled run, not the force rebuild).
 */
export function scheduledSyncForEnvironment(
  outputs: StackOutputs,
  clients: AwsClients,
  options: ScheduledSyncOptions,
): (event?: unknown) => Promise<ScheduledSyncResult> {
  const { logger } = options;
  let configs: LoadedPackageConfig[] | undefined;
  const objects = objectStoreFor(outputs, clients);
  const records = new PackageStore(clients.dynamo, outputs.tableName);
  const rebuild = options.rebuild ?? rebuildDependencies(outputs, clients, {
    ...(options.validUntilDays === undefined ? {} : { validUntilDays: options.validUntilDays }),
    leaseWaitMs: options.leaseWaitMs ?? 5 * 60 * 1000,
    ...(options.leaseLabel === undefined ? {} : { leaseLabel: options.leaseLabel }),
    onWarning: (message) => logger.warn(message),
    onProgress: (event) => logger.info(event.message, { phase: event.phase }),
  });
  const notifier = options.notifier ?? createNotifier(
    { sns: clients.sns, topicArn: outputs.notificationTopicArn },
    {
      logger,
      ...(options.localNotificationsFile === undefined
        ? {}
        : { localFile: options.localNotificationsFile }),
    },
  );
  return async () => {
    configs ??= await packageConfigs(options.configFiles);
    const metrics = options.metrics ?? createMetrics();
    try {
      const summary = await runScheduledSync({
        configs,
        objects,
        records,
        publish: () => forceRebuild(rebuild),
        notifier,
        environment: outputs.environment,
        logger,
        metrics,
      });
      // A run that returns had at least one working source (or none to ask):
      // partial failures are reported and notified, the run counts as done.
      return { ...summary, failed: false };
    } finally {
      if (options.metrics === undefined) metrics.publishStoredMetrics();
    }
  };
}
