/**
 * The notification topic (new packages, failed sources, alarms) and its
 * e-mail subscription.
 *
 * @module
 */

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AccountContext } from "./encryption.ts";
import { type DeployEnvironment, NAME_PREFIX, resourceName } from "./naming.ts";

/** Arguments of {@linkcode Notifications}. */
export interface NotificationsArgs {
  environment: DeployEnvironment;
  account: AccountContext;
  kmsKeyArn: pulumi.Input<string>;
  /** Subscribed by e-mail; AWS sends a confirmation message that must be accepted. */
  email?: string;
}

/** The inputs of {@linkcode topicPolicy}, resolved. */
export interface TopicPolicyInputs {
  environment: DeployEnvironment;
  topicArn: string;
  accountId: string;
  partition: string;
  region: string;
}

/**
 * The topic policy, replacing SNS's default: the account manages the topic and
 * publishes through IAM (the publisher role has `sns:Publish` on it), this
 * environment's CloudWatch alarms may publish, and nobody may use plain HTTP.
 */
export function topicPolicy(inputs: TopicPolicyInputs): Record<string, unknown> {
  const { topicArn, accountId, partition, region, environment } = inputs;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountManagesAndPublishesThroughIam",
        Effect: "Allow",
        Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
        Action: [
          "SNS:GetTopicAttributes",
          "SNS:SetTopicAttributes",
          "SNS:AddPermission",
          "SNS:RemovePermission",
          "SNS:DeleteTopic",
          "SNS:Subscribe",
          "SNS:ListSubscriptionsByTopic",
          "SNS:Publish",
        ],
        Resource: topicArn,
      },
      {
        Sid: "EnvironmentAlarmsPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "SNS:Publish",
        Resource: topicArn,
        Condition: {
          StringEquals: { "aws:SourceAccount": accountId },
          ArnLike: {
            "aws:SourceArn":
              `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${NAME_PREFIX}-*-${environment}`,
          },
        },
      },
      {
        Sid: "DenyPlainHttp",
        Effect: "Deny",
        Principal: "*",
        Action: "SNS:Publish",
        Resource: topicArn,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/** The encrypted SNS topic, its policy and, when an address is configured, its e-mail subscription. */
export class Notifications extends pulumi.ComponentResource {
  readonly topicArn: pulumi.Output<string>;

  constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kiro:infra:Notifications", name, {}, opts);
    const topic = new aws.sns.Topic("notifications", {
      name: resourceName("notifications", args.environment),
      displayName: `Kiro APT repository (${args.environment})`,
      kmsMasterKeyId: args.kmsKeyArn,
    }, { parent: this });
    new aws.sns.TopicPolicy("notifications-policy", {
      arn: topic.arn,
      policy: pulumi.all([topic.arn, args.account.accountId, args.account.partition]).apply((
        [topicArn, accountId, partition],
      ) =>
        JSON.stringify(topicPolicy({
          environment: args.environment,
          topicArn,
          accountId,
          partition,
          region: args.account.region,
        }))
      ),
    }, { parent: this });
    if (args.email !== undefined) {
      new aws.sns.TopicSubscription("notifications-email", {
        topic: topic.arn,
        protocol: "email",
        endpoint: args.email,
      }, { parent: this });
    }
    this.topicArn = topic.arn;
    this.registerOutputs({ topicArn: this.topicArn });
  }
}
