/**
 * The publisher: the one Lambda that syncs the sources and rebuilds the
 * repository, built from `lambda/handler.ts` by every `pulumi up`, with its
 * role, log group and dead-letter queue.
 *
 * @module
 */

import { dirname, join } from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BUNDLE_FILE_NAME, BUNDLE_HANDLER, type LambdaBundle } from "./lambda_bundle.ts";
import { type DeployEnvironment, resourceName } from "./naming.ts";
import { lambdaAssumeRolePolicy, publisherPolicyDocument } from "./publisher_policy.ts";
import { lambdaVariables } from "../lambda/environment/variables.ts";

/*
 * Sizing, for the largest package we expect (a 500 MB `kiro` .deb):
 * - Memory 2048 MB. Ingest streams (download → hash → multipart upload), so
 *   memory does not grow with the package; what stays resident is the upload's
 *   part queue (a few 5–8 MB parts), xz compression of the Packages indexes
 *   (~100 MB at preset 6), OpenPGP and the records of a full rebuild. Lambda
 *   gives CPU and network in proportion to memory: 2048 MB is more than one
 *   full vCPU (1769 MB), so hashing 500 MB three ways (~4 s) and the transfer
 *   are not starved.
 * - Ephemeral storage 2048 MB: room to spool one 500 MB package twice (a
 *   retried upload, a verification pass) with margin; the 512 MB default is
 *   smaller than the package.
 * - Timeout 900 s, Lambda's maximum: 500 MB at a slow 5 MB/s is 100 s down and
 *   about as long up, plus a full rebuild and publish. The duration alarm fires
 *   at 80 % of it.
 */
/** The Lambda's memory (MB); see the sizing note above. */
export const PUBLISHER_MEMORY_MB = 2048;
/** The Lambda's `/tmp` size (MB). */
export const PUBLISHER_EPHEMERAL_STORAGE_MB = 2048;
/** The Lambda's timeout (s). */
export const PUBLISHER_TIMEOUT_SECONDS = 900;
/** The managed runtime (`docs/design.md`, "Runtime and dependencies"). */
export const PUBLISHER_RUNTIME = "nodejs22.x";
/** The Powertools metrics namespace; the handler emits `SuccessfulRuns` in it. */
export const METRICS_NAMESPACE = "KiroRepo";

/** Arguments of {@linkcode Publisher}. */
export interface PublisherArgs {
  environment: DeployEnvironment;
  region: string;
  /** The bundled `lambda/handler.ts` (built by the program before any resource). */
  bundle: LambdaBundle;
  tableName: pulumi.Input<string>;
  tableArn: pulumi.Input<string>;
  packageNameIndexArn: pulumi.Input<string>;
  bucketName: pulumi.Input<string>;
  bucketArn: pulumi.Input<string>;
  repoUrl: pulumi.Input<string>;
  distributionId: pulumi.Input<string>;
  distributionArn: pulumi.Input<string>;
  signingKeySecretName: pulumi.Input<string>;
  signingKeySecretArn: pulumi.Input<string>;
  notificationTopicArn: pulumi.Input<string>;
  kmsKeyArn: pulumi.Input<string>;
  validUntilDays: number;
  /** The channels the repository publishes, the default one first. */
  channels: readonly string[];
  /** The architectures the repository publishes (the Lambda's `ARCHITECTURES`). */
  architectures: readonly string[];
  logLevel: string;
  logRetentionDays: number;
  /** The schedule period: queued or retried events older than this are dropped to the DLQ. */
  schedulePeriodSeconds: number;
}

/** The name of the publisher function in `environment` (its log group derives from it). */
export function publisherFunctionName(environment: DeployEnvironment): string {
  return resourceName("publisher", environment);
}

/** The publisher's log group name in `environment`. */
export function publisherLogGroupName(environment: DeployEnvironment): string {
  return `/aws/lambda/${publisherFunctionName(environment)}`;
}

/** The Lambda function with its role, log group and dead-letter queue. */
export class Publisher extends pulumi.ComponentResource {
  readonly functionName: pulumi.Output<string>;
  readonly functionArn: pulumi.Output<string>;
  readonly deadLetterQueueName: pulumi.Output<string>;
  /** Powertools' `service` dimension of the handler's metrics. */
  readonly serviceName: string;

  constructor(name: string, args: PublisherArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kiro:infra:Publisher", name, {}, opts);
    const { environment } = args;
    const functionName = publisherFunctionName(environment);
    this.serviceName = functionName;

    const deadLetterQueue = new aws.sqs.Queue("dead-letters", {
      name: resourceName("publisher-dlq", environment),
      kmsMasterKeyId: args.kmsKeyArn,
      kmsDataKeyReusePeriodSeconds: 3600,
      messageRetentionSeconds: 14 * 86400,
    }, { parent: this });

    // Created before the function, so that Lambda does not create it without
    // retention or encryption on the first invocation.
    const logGroup = new aws.cloudwatch.LogGroup("logs", {
      name: publisherLogGroupName(environment),
      retentionInDays: args.logRetentionDays,
      kmsKeyId: args.kmsKeyArn,
    }, { parent: this });

    const role = new aws.iam.Role("role", {
      name: functionName,
      description: `The Kiro APT repository publisher (${environment})`,
      assumeRolePolicy: JSON.stringify(lambdaAssumeRolePolicy()),
    }, { parent: this });

    const rolePolicy = new aws.iam.RolePolicy("role-policy", {
      name: functionName,
      role: role.id,
      policy: pulumi.output({
        tableArn: args.tableArn,
        packageNameIndexArn: args.packageNameIndexArn,
        bucketArn: args.bucketArn,
        signingKeySecretArn: args.signingKeySecretArn,
        notificationTopicArn: args.notificationTopicArn,
        distributionArn: args.distributionArn,
        logGroupArn: logGroup.arn,
        deadLetterQueueArn: deadLetterQueue.arn,
        kmsKeyArn: args.kmsKeyArn,
      }).apply((arns) => JSON.stringify(publisherPolicyDocument({ ...arns, region: args.region }))),
    }, { parent: this });

    // index.mjs, plus node_modules/ when native packages ship next to it.
    const files: Record<string, pulumi.asset.Asset | pulumi.asset.Archive> = {
      [BUNDLE_FILE_NAME]: new pulumi.asset.StringAsset(args.bundle.code),
    };
    if (args.bundle.nativePackages.length > 0) {
      files["node_modules"] = new pulumi.asset.FileArchive(
        join(dirname(args.bundle.path), "node_modules"),
      );
    }
    const code = new pulumi.asset.AssetArchive(files);

    const fn = new aws.lambda.Function("publisher", {
      name: functionName,
      description:
        `Syncs the package sources and publishes the Kiro APT repository (${environment})`,
      role: role.arn,
      runtime: PUBLISHER_RUNTIME,
      architectures: ["arm64"],
      handler: BUNDLE_HANDLER,
      code,
      timeout: PUBLISHER_TIMEOUT_SECONDS,
      memorySize: PUBLISHER_MEMORY_MB,
      ephemeralStorage: { size: PUBLISHER_EPHEMERAL_STORAGE_MB },
      // One publisher at a time; the table lease is the other half
      // (`docs/design.md`, "Repository layout and publishing").
      reservedConcurrentExecutions: 1,
      deadLetterConfig: { targetArn: deadLetterQueue.arn },
      loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
      environment: {
        // The names the Lambda reads (lambda/environment/variables.ts).
        variables: lambdaVariables<pulumi.Input<string>>({
          environment,
          tableName: args.tableName,
          bucketName: args.bucketName,
          repoUrl: args.repoUrl,
          signingKeySecretId: args.signingKeySecretName,
          notificationTopicArn: args.notificationTopicArn,
          distributionId: args.distributionId,
          validUntilDays: String(args.validUntilDays),
          channels: args.channels.join(","),
          architectures: args.architectures.join(","),
          serviceName: functionName,
          metricsNamespace: METRICS_NAMESPACE,
          logLevel: args.logLevel,
        }),
      },
    }, { parent: this, dependsOn: [logGroup, rolePolicy] });

    // Asynchronous invocations (the schedule): one retry, and nothing older
    // than one schedule period — the next scheduled run supersedes it. What
    // fails goes to the dead-letter queue, which has an alarm.
    new aws.lambda.FunctionEventInvokeConfig("publisher-async", {
      functionName: fn.name,
      maximumRetryAttempts: 1,
      maximumEventAgeInSeconds: Math.min(21600, Math.max(60, args.schedulePeriodSeconds)),
    }, { parent: this });

    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.deadLetterQueueName = deadLetterQueue.name;
    this.registerOutputs({
      functionName: this.functionName,
      functionArn: this.functionArn,
      deadLetterQueueName: this.deadLetterQueueName,
    });
  }
}
