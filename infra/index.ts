/**
 * The Pulumi program: one environment (`dev` or `prod`, the stack name) of
 * the Kiro APT repository. Pulumi's Node.js runtime runs this file with
 * Node's type stripping (Node ≥ 22.18; see Pulumi.yaml).
 *
 * This is the only module that reads the stack config; the components get
 * typed settings. The default export is called by Pulumi, and its result is
 * the stack outputs (`docs/design.md`, "Environments"; read by `tasks/lib/env.ts`).
 *
 * @module
 */

import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alarms } from "./alarms.ts";
import { Cdn } from "./cdn.ts";
import { EncryptionKey } from "./encryption.ts";
import { bundleLambda } from "./lambda_bundle.ts";
import { Notifications } from "./notifications.ts";
import {
  METRICS_NAMESPACE,
  Publisher,
  PUBLISHER_TIMEOUT_SECONDS,
  publisherLogGroupName,
} from "./publisher.ts";
import { Schedule } from "./schedule.ts";
import { parseStackSettings, PROJECT_NAME, StackSettingsError } from "./settings.ts";
import { SigningKeySecret } from "./signing_key_secret.ts";
import { Storage } from "./storage.ts";

/** Every config key of the project namespace the program reads. */
const CONFIG_KEYS = [
  "scheduleRate",
  "logRetentionDays",
  "validUntilDays",
  "alarmEmail",
  "domainName",
  "certificateArn",
  "hostedZoneId",
  "legacyTableName",
  "deletionProtection",
  "stagingExpirationDays",
  "noncurrentVersionExpirationDays",
  "logLevel",
  "architectures",
  "priceClass",
  "lambdaEntry",
];

/** The project root (the folder of Pulumi.yaml). */
const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Creates every resource of the stack and returns its outputs:
 * `environment`, `tableName`, `legacyTableName`, `bucketName`, `functionName`,
 * `repoUrl`, `distributionId`, `signingKeySecretId`, `notificationTopicArn`, `region`,
 * `architectures` (comma-separated).
 */
export default async function kiroRepositoryStack(): Promise<Record<string, pulumi.Input<string>>> {
  const stack = pulumi.getStack();
  const config = new pulumi.Config();
  const unknown = Object.keys(pulumi.runtime.allConfig())
    .filter((key) => key.startsWith(`${PROJECT_NAME}:`))
    .map((key) => key.slice(PROJECT_NAME.length + 1))
    .filter((key) => !CONFIG_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new StackSettingsError(
      `Cannot use the stack config in Pulumi.${stack}.yaml: unknown ${
        unknown.map((key) => `${PROJECT_NAME}:${key}`).join(", ")
      } (known keys: ${CONFIG_KEYS.join(", ")})`,
    );
  }
  const settings = parseStackSettings({
    stack,
    region: new pulumi.Config("aws").get("region"),
    values: Object.fromEntries(CONFIG_KEYS.map((key) => [key, config.get(key)])),
  });
  const { environment } = settings;
  if (settings.alarmEmail === undefined) {
    pulumi.log.warn(
      `No ${PROJECT_NAME}:alarmEmail in Pulumi.${stack}.yaml: alarms and notifications reach nobody ` +
        `(pulumi config set alarmEmail you@example.com -s ${stack})`,
    );
  }

  // Bundled before any resource exists, so that a bundling error stops the
  // update cleanly; every `pulumi up` ships the code of its working tree.
  const bundle = await bundleLambda({
    entry: resolve(PROJECT_ROOT, settings.lambdaEntry),
    outDir: join(PROJECT_ROOT, "dist", "pulumi", environment),
  });

  const caller = aws.getCallerIdentityOutput();
  const partition = aws.getPartitionOutput();

  const account = {
    accountId: caller.accountId,
    partition: partition.partition,
    region: settings.region,
  };

  const encryption = new EncryptionKey("encryption", {
    environment,
    account,
    logGroupName: publisherLogGroupName(environment),
    protect: settings.deletionProtection,
  });

  const storage = new Storage("storage", {
    environment,
    kmsKeyArn: encryption.keyArn,
    deletionProtection: settings.deletionProtection,
    stagingExpirationDays: settings.stagingExpirationDays,
    noncurrentVersionExpirationDays: settings.noncurrentVersionExpirationDays,
  });

  const signingKey = new SigningKeySecret("signing-key", {
    environment,
    kmsKeyArn: encryption.keyArn,
    protect: settings.deletionProtection,
  });

  const notifications = new Notifications("notifications", {
    environment,
    account,
    kmsKeyArn: encryption.keyArn,
    ...(settings.alarmEmail === undefined ? {} : { email: settings.alarmEmail }),
  });

  const cdn = new Cdn("cdn", {
    environment,
    bucketName: storage.bucketName,
    bucketArn: storage.bucketArn,
    bucketRegionalDomainName: storage.bucketRegionalDomainName,
    priceClass: settings.priceClass,
    ...(settings.customDomain === undefined ? {} : { customDomain: settings.customDomain }),
    bucketPolicyDependsOn: [storage.publicAccessBlock],
  });

  const publisher = new Publisher("publisher", {
    environment,
    region: settings.region,
    bundle,
    tableName: storage.tableName,
    tableArn: storage.tableArn,
    packageNameIndexArn: storage.packageNameIndexArn,
    bucketName: storage.bucketName,
    bucketArn: storage.bucketArn,
    repoUrl: cdn.repoUrl,
    distributionId: cdn.distributionId,
    distributionArn: cdn.distributionArn,
    signingKeySecretName: signingKey.secretName,
    signingKeySecretArn: signingKey.secretArn,
    notificationTopicArn: notifications.topicArn,
    kmsKeyArn: encryption.keyArn,
    validUntilDays: settings.validUntilDays,
    channels: settings.channels,
    architectures: settings.architectures,
    logLevel: settings.logLevel,
    logRetentionDays: settings.logRetentionDays,
    schedulePeriodSeconds: settings.schedulePeriodSeconds,
  });

  new Schedule("schedule", {
    environment,
    scheduleRate: settings.scheduleRate,
    functionName: publisher.functionName,
    functionArn: publisher.functionArn,
  });

  new Alarms("alarms", {
    environment,
    functionName: publisher.functionName,
    timeoutSeconds: PUBLISHER_TIMEOUT_SECONDS,
    deadLetterQueueName: publisher.deadLetterQueueName,
    metricsNamespace: METRICS_NAMESPACE,
    serviceName: publisher.serviceName,
    schedulePeriodSeconds: settings.schedulePeriodSeconds,
    topicArn: notifications.topicArn,
  });

  return {
    environment,
    tableName: storage.tableName,
    legacyTableName: settings.legacyTableName,
    bucketName: storage.bucketName,
    functionName: publisher.functionName,
    repoUrl: cdn.repoUrl,
    distributionId: cdn.distributionId,
    signingKeySecretId: signingKey.secretName,
    notificationTopicArn: notifications.topicArn,
    region: settings.region,
    channels: settings.channels.join(","),
    architectures: settings.architectures.join(","),
  };
}
