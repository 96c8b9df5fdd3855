/**
 * The environment's customer managed KMS key: it encrypts the packages table,
 * the signing-key secret, the notification topic, the dead-letter queue and
 * the Lambda's log group, so that one key policy says who may read them.
 *
 * @module
 */

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type DeployEnvironment, NAME_PREFIX, resourceName } from "./naming.ts";

/** Where the key lives. */
export interface AccountContext {
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  region: string;
}

/** Arguments of {@linkcode EncryptionKey}. */
export interface EncryptionKeyArgs {
  environment: DeployEnvironment;
  account: AccountContext;
  /** The Lambda's log group, which CloudWatch Logs encrypts with this key. */
  logGroupName: string;
  /** Pulumi `protect` and a 30-day deletion window (prod). */
  protect: boolean;
}

/** The inputs of {@linkcode encryptionKeyPolicy}, resolved. */
export interface EncryptionKeyPolicyInputs {
  environment: DeployEnvironment;
  accountId: string;
  partition: string;
  region: string;
  logGroupName: string;
}

/**
 * The key policy. In a key policy `Resource: "*"` means "this key" (a key
 * policy cannot name any other resource); the principals are what matter:
 * - the account (so that IAM policies, such as the publisher role's, can grant use),
 * - CloudWatch alarms of this environment, which must encrypt what they publish to
 *   the encrypted topic (AWS managed SNS keys do not allow this; hence our own key),
 * - CloudWatch Logs, for this environment's log group only.
 */
export function encryptionKeyPolicy(inputs: EncryptionKeyPolicyInputs): Record<string, unknown> {
  const { accountId, partition, region, environment, logGroupName } = inputs;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountAdministersAndDelegatesThroughIam",
        Effect: "Allow",
        Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "EnvironmentAlarmsPublishToTheEncryptedTopic",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Resource: "*",
        Condition: {
          StringEquals: { "aws:SourceAccount": accountId },
          ArnLike: {
            "aws:SourceArn":
              `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${NAME_PREFIX}-*-${environment}`,
          },
        },
      },
      {
        Sid: "LogsEncryptTheEnvironmentLogGroup",
        Effect: "Allow",
        Principal: { Service: `logs.${region}.amazonaws.com` },
        Action: [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ],
        Resource: "*",
        Condition: {
          ArnEquals: {
            "kms:EncryptionContext:aws:logs:arn":
              `arn:${partition}:logs:${region}:${accountId}:log-group:${logGroupName}`,
          },
        },
      },
    ],
  };
}

/** The environment's KMS key and its alias. */
export class EncryptionKey extends pulumi.ComponentResource {
  /** The key's ARN (what resources and policies refer to). */
  readonly keyArn: pulumi.Output<string>;
  readonly keyId: pulumi.Output<string>;

  constructor(name: string, args: EncryptionKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kiro:infra:EncryptionKey", name, {}, opts);
    const policy = pulumi.all([args.account.accountId, args.account.partition]).apply((
      [accountId, partition],
    ) =>
      JSON.stringify(encryptionKeyPolicy({
        environment: args.environment,
        accountId,
        partition,
        region: args.account.region,
        logGroupName: args.logGroupName,
      }))
    );
    const key = new aws.kms.Key("key", {
      description:
        `Encrypts the Kiro APT repository's table, secret, topic, queue and logs (${args.environment})`,
      enableKeyRotation: true,
      deletionWindowInDays: args.protect ? 30 : 7,
      policy,
      tags: { Name: resourceName("key", args.environment), Environment: args.environment },
    }, { parent: this, protect: args.protect });
    new aws.kms.Alias("alias", {
      name: `alias/${resourceName("key", args.environment)}`,
      targetKeyId: key.keyId,
    }, { parent: this });
    this.keyArn = key.arn;
    this.keyId = key.keyId;
    this.registerOutputs({ keyArn: this.keyArn, keyId: this.keyId });
  }
}
