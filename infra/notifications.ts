/**
 * The notification topic (new packages, failed sources, alarms) and its
 * e-mail subscription.
 *
 * @module
 */

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type DeployEnvironment, resourceName } from "./naming.ts";

/** Arguments of {@linkcode Notifications}. */
export interface NotificationsArgs {
  environment: DeployEnvironment;
  kmsKeyArn: pulumi.Input<string>;
  /** Subscribed by e-mail; AWS sends a confirmation message that must be accepted. */
  email?: string;
}

/** The encrypted SNS topic and, when an address is configured, its e-mail subscription. */
export class Notifications extends pulumi.ComponentResource {
  readonly topicArn: pulumi.Output<string>;

  constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kiro:infra:Notifications", name, {}, opts);
    const topic = new aws.sns.Topic("notifications", {
      name: resourceName("notifications", args.environment),
      displayName: `Kiro APT repository (${args.environment})`,
      kmsMasterKeyId: args.kmsKeyArn,
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
