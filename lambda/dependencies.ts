/**
 * Wiring: the one place where an environment's clients, stores, keys and
 * settings become the engine's dependencies — for the deployed Lambda (from
 * its environment variables, `lambda/environment/variables.ts`), for the
 * local in-process "Lambda" and for the tasks (from stack outputs).
 *
 * @module
 */

import process from "node:process";
import { type AwsClients, awsClients } from "./aws/clients.ts";
import { CloudFrontInvalidator } from "./aws/invalidation.ts";
import { S3ObjectStore } from "./aws/object_store.ts";
import { loadSigningKeys } from "./aws/signing_keys.ts";
import type { ChannelPolicy } from "./domain/channels.ts";
import { stackChannels, type StackOutputs } from "./environment/outputs.ts";
import { configFromEnvironment, type LambdaConfig } from "./environment/variables.ts";
import type { HandlerDependencies, ScheduledRunSummary } from "./handler.ts";
import { createNotifier, type Notifier } from "./notify/notifier.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import { forceRebuild, type RebuildDependencies } from "./rebuild.ts";
import { fullPoolCheckDue } from "./publish/pool_check.ts";
import type { SigningKey } from "./signing/keys.ts";
import { BUNDLED_CONFIG_FILES } from "./sources/bundled_configs.ts";
import {
  ConfigError,
  type ConfigFile,
  keepVersionsOf,
  type LoadedPackageConfig,
  loadPackageConfigs,
  parsePackageConfigs,
  withFeedUrl,
} from "./sources/config.ts";
import { runScheduledSync, type SyncSummary } from "./sources/sync.ts";
import { PublishHistory } from "./store/history.ts";
import { PackageStore } from "./store/package_store.ts";

/** Options of {@linkcode rebuildDependencies}. */
export interface EnvironmentRebuildOptions extends
  Pick<
    RebuildDependencies,
    | "validUntilDays"
    | "leaseWaitMs"
    | "leaseLabel"
    | "retention"
    | "concurrency"
    | "onProgress"
    | "onWarning"
    | "startedBy"
  > {
  /** Use these keys instead of loading them from the environment's secret/file. */
  keys?: readonly SigningKey[];
}

/**
 * The dependencies of {@linkcode forceRebuild} for an environment: the
 * packages table, the bucket (with the stand-in's copy-source quirk handled
 * for `local`), CloudFront when the stack has a distribution, and the
 * signing keys from the secret (or, locally, the key file), loaded once.
 */
export function rebuildDependencies(
  outputs: StackOutputs,
  clients: AwsClients,
  options: EnvironmentRebuildOptions = {},
): RebuildDependencies {
  const { keys, ...rest } = options;
  let loaded: Promise<readonly SigningKey[]> | undefined;
  return {
    store: new PackageStore(clients.dynamo, outputs.tableName),
    lease: {
      client: clients.dynamo,
      tableName: outputs.tableName,
      // Every local publisher runs on this machine: one whose process is gone is taken over.
      takeOverDeadLocalHolders: outputs.environment === "local",
    },
    objects: objectStoreFor(outputs, clients),
    keys: keys ?? (() => loaded ??= loadSigningKeys(outputs, clients)),
    repoUrl: outputs.repoUrl,
    policy: () => channelPolicyFor(outputs),
    history: new PublishHistory(clients.dynamo, outputs.tableName),
    ...(outputs.distributionId === undefined
      ? {}
      : { invalidator: new CloudFrontInvalidator(clients.cloudfront, outputs.distributionId) }),
    ...rest,
  };
}

/**
 * The channels of `outputs` (the stack's setting) and the retention of the
 * package configurations (`keep_versions`; the folder named by
 * `$KIRO_PACKAGE_CONFIG_DIR`, else the bundled ones). Invalid configurations
 * fail here with every problem named.
 */
export async function channelPolicyFor(
  outputs: StackOutputs,
  options: { configFiles?: readonly ConfigFile[] } = {},
): Promise<ChannelPolicy> {
  const configs = await packageConfigs(options.configFiles);
  return { channels: stackChannels(outputs), keepVersions: keepVersionsOf(configs) };
}

/** The repository bucket of `outputs` as an {@linkcode ObjectStore}. */
export function objectStoreFor(outputs: StackOutputs, clients: AwsClients): S3ObjectStore {
  if (outputs.endpoints === undefined) return new S3ObjectStore(clients.s3, outputs.bucketName);
  // The local stand-in decodes x-amz-copy-source with decodeURI.
  return new S3ObjectStore(clients.s3, outputs.bucketName, { copySourceEncoding: "uri" });
}

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
  /**
   * Read every enabled `external_download` source's feed from this URL instead
   * of its `feed_url` (`withFeedUrl` in `lambda/sources/config.ts`; local runs).
   */
  feedUrl?: string;
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

/** `configs`, once every `channel` they name is one the stack publishes; `ConfigError` otherwise. */
function checkChannels(
  configs: LoadedPackageConfig[],
  outputs: StackOutputs,
): LoadedPackageConfig[] {
  const channels = stackChannels(outputs);
  const problems = configs.filter(({ config }) =>
    config.channel !== undefined && !channels.includes(config.channel)
  ).map(({ file, config }) =>
    `Cannot read ${file}: channel is "${config.channel}", which the ${outputs.environment} ` +
    `stack does not publish (it publishes ${channels.join(", ")}); use one of those or add ` +
    "the channel to the stack's channels setting"
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return configs;
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
): (event?: unknown, startedBy?: string) => Promise<ScheduledSyncResult> {
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
  return async (_event, startedBy) => {
    if (configs === undefined) {
      const loaded = checkChannels(await packageConfigs(options.configFiles), outputs);
      configs = options.feedUrl === undefined ? loaded : withFeedUrl(loaded, options.feedUrl);
    }
    const metrics = options.metrics ?? createMetrics();
    try {
      const summary = await runScheduledSync({
        configs,
        objects,
        records,
        policy: { channels: stackChannels(outputs), keepVersions: keepVersionsOf(configs) },
        publish: () => forceRebuild(startedBy === undefined ? rebuild : { ...rebuild, startedBy }),
        fullPoolCheckDue: async (now) => {
          const history = rebuild.history;
          if (history?.live === undefined) return undefined;
          const live = await Promise.all(stackChannels(outputs).map((c) => history.live!(c)));
          return fullPoolCheckDue(live, { now });
        },
        notifier,
        environment: outputs.environment,
        logger,
        metrics,
        architectures: outputs.architectures,
      });
      // A run that returns had at least one working source (or none to ask):
      // partial failures are reported and notified, the run counts as done.
      return { ...summary, failed: false };
    } finally {
      if (options.metrics === undefined) metrics.publishStoredMetrics();
    }
  };
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
): (event: unknown, startedBy?: string) => Promise<ScheduledRunSummary> {
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
    forceRebuild: (startedBy) =>
      forceRebuild(startedBy === undefined ? rebuild : { ...rebuild, startedBy }),
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
