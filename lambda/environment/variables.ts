/**
 * The publisher Lambda's environment variables: their names (one list, which
 * the Pulumi program in `infra/publisher.ts` and `tasks/postdeploy.ts` use
 * too), how a setting becomes a variable, and how the Lambda reads them back
 * into its configuration (`docs/architecture.md`, "The Lambda's environment
 * variables").
 *
 * @module
 */

import { parseArchitectures } from "../domain/architectures.ts";
import type { RetentionOptions } from "../publish/generations.ts";
import { parseChannelList, type StackOutputs } from "./outputs.ts";

/** Each Lambda setting → the name of its environment variable. */
export const LAMBDA_VARIABLES = {
  environment: "ENVIRONMENT",
  tableName: "TABLE_NAME",
  bucketName: "BUCKET_NAME",
  repoUrl: "REPO_URL",
  signingKeySecretId: "SIGNING_KEY_SECRET_ID",
  notificationTopicArn: "NOTIFICATION_TOPIC_ARN",
  distributionId: "DISTRIBUTION_ID",
  validUntilDays: "VALID_UNTIL_DAYS",
  channels: "CHANNELS",
  byHashKeepGenerations: "BY_HASH_KEEP_GENERATIONS",
  byHashKeepHours: "BY_HASH_KEEP_HOURS",
  architectures: "ARCHITECTURES",
  serviceName: "POWERTOOLS_SERVICE_NAME",
  metricsNamespace: "POWERTOOLS_METRICS_NAMESPACE",
  logLevel: "LOG_LEVEL",
} as const;

/** A Lambda setting's name. */
export type LambdaSetting = keyof typeof LAMBDA_VARIABLES;

/**
 * The settings of one Lambda, each value of type `T` (`string` for tasks and
 * tests, a Pulumi input for the program); absent ones are left out.
 */
export type LambdaSettings<T> = { [K in LambdaSetting]?: T | undefined };

/**
 * The environment variables for `settings`: every given setting under its
 * variable's name, absent ones left out.
 *
 * @example
 * ```ts
 * lambdaVariables({ tableName: "t", bucketName: "b" }); // { TABLE_NAME: "t", BUCKET_NAME: "b" }
 * ```
 */
export function lambdaVariables<T>(settings: LambdaSettings<T>): Record<string, T> {
  const variables: Record<string, T> = {};
  for (const [setting, name] of Object.entries(LAMBDA_VARIABLES)) {
    const value = settings[setting as LambdaSetting];
    if (value !== undefined) variables[name] = value;
  }
  return variables;
}

/** The Lambda's configuration, read from its environment variables. */
export interface LambdaConfig {
  outputs: StackOutputs;
  validUntilDays: number;
  /** By-hash retention (`BY_HASH_KEEP_GENERATIONS`, `BY_HASH_KEEP_HOURS`; defaults 3 and 48). */
  retention: RetentionOptions;
}

/**
 * Reads the Lambda's environment variables into its configuration. Throws
 * naming the missing or bad variable.
 */
export function configFromEnvironment(env: Record<string, string | undefined>): LambdaConfig {
  const V = LAMBDA_VARIABLES;
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value.trim() === "") {
      throw new Error(
        `Cannot start the publisher: environment variable ${name} is not set (the stack sets it)`,
      );
    }
    return value;
  };
  const environment = need(V.environment);
  if (environment !== "dev" && environment !== "prod" && environment !== "local") {
    throw new Error(
      `Cannot start the publisher: ${V.environment} must be dev, prod or local (got "${environment}")`,
    );
  }
  const daysText = env[V.validUntilDays];
  const days = Number(daysText ?? "7");
  if (!Number.isFinite(days) || days <= 0) {
    throw new Error(
      `Cannot start the publisher: ${V.validUntilDays} must be a positive number ` +
        `(got "${daysText}")`,
    );
  }
  const outputs: StackOutputs = {
    environment,
    tableName: need(V.tableName),
    legacyTableName: env.LEGACY_TABLE_NAME ?? "",
    bucketName: need(V.bucketName),
    functionName: env.AWS_LAMBDA_FUNCTION_NAME ?? "",
    repoUrl: need(V.repoUrl).replace(/\/+$/, ""),
    signingKeySecretId: need(V.signingKeySecretId),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
  };
  const channels = env[V.channels];
  if (channels !== undefined && channels.trim() !== "") {
    try {
      outputs.channels = parseChannelList(channels);
    } catch (error) {
      throw new Error(
        `Cannot start the publisher: ${V.channels} ${(error as Error).message}`,
      );
    }
  }
  const distribution = env[V.distributionId];
  if (distribution) outputs.distributionId = distribution;
  const topic = env[V.notificationTopicArn];
  if (topic) outputs.notificationTopicArn = topic;
  const architectures = env[V.architectures];
  if (architectures !== undefined && architectures !== "") {
    try {
      outputs.architectures = parseArchitectures(architectures, { setting: V.architectures });
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new Error(`Cannot start the publisher: ${error.message}`);
    }
  }
  const retention: RetentionOptions = {};
  const generations = env[V.byHashKeepGenerations];
  if (generations !== undefined && generations !== "") {
    const value = Number(generations);
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(
        `Cannot start the publisher: ${V.byHashKeepGenerations} must be a whole number >= 1 ` +
          `(got "${generations}")`,
      );
    }
    retention.keepGenerations = value;
  }
  const hours = env[V.byHashKeepHours];
  if (hours !== undefined && hours !== "") {
    const value = Number(hours);
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(
        `Cannot start the publisher: ${V.byHashKeepHours} must be a number >= 0 (got "${hours}")`,
      );
    }
    retention.keepSeconds = value * 3600;
  }
  return { outputs, validUntilDays: days, retention };
}
