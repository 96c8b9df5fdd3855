/**
 * Alarms on the publisher, all notifying the environment's topic: errors,
 * runs close to the timeout, dead letters, and no successful run for two
 * schedule periods.
 *
 * @module
 */

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type DeployEnvironment, resourceName } from "./naming.ts";

/** The custom metric the handler emits (Powertools metrics) after every successful run. */
export const SUCCESSFUL_RUNS_METRIC = "SuccessfulRuns";

/** The duration alarm's threshold, as a fraction of the timeout. */
export const DURATION_ALARM_FRACTION = 0.8;

/** Arguments of {@linkcode Alarms}. */
export interface AlarmsArgs {
  environment: DeployEnvironment;
  functionName: pulumi.Input<string>;
  timeoutSeconds: number;
  deadLetterQueueName: pulumi.Input<string>;
  /** The Powertools metrics namespace and service (the metric's only dimension). */
  metricsNamespace: string;
  serviceName: string;
  schedulePeriodSeconds: number;
  topicArn: pulumi.Input<string>;
}

/** The four alarms. */
export class Alarms extends pulumi.ComponentResource {
  readonly alarmNames: pulumi.Output<string>[];

  constructor(name: string, args: AlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kiro:infra:Alarms", name, {}, opts);
    const { environment } = args;
    const notify = {
      alarmActions: [args.topicArn],
      okActions: [args.topicArn],
      actionsEnabled: true,
    };
    const lambdaDimensions = { FunctionName: args.functionName };

    const errors = new aws.cloudwatch.MetricAlarm("publisher-errors", {
      name: resourceName("publisher-errors", environment),
      alarmDescription: "The publisher Lambda failed (see its log group for the run's error)",
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: lambdaDimensions,
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      ...notify,
    }, { parent: this });

    const duration = new aws.cloudwatch.MetricAlarm("publisher-duration", {
      name: resourceName("publisher-duration", environment),
      alarmDescription: `A publisher run took more than ${
        DURATION_ALARM_FRACTION * 100
      } % of its ${args.timeoutSeconds} s timeout`,
      namespace: "AWS/Lambda",
      metricName: "Duration",
      dimensions: lambdaDimensions,
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: Math.round(args.timeoutSeconds * 1000 * DURATION_ALARM_FRACTION),
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      ...notify,
    }, { parent: this });

    const deadLetters = new aws.cloudwatch.MetricAlarm("publisher-dead-letters", {
      name: resourceName("publisher-dead-letters", environment),
      alarmDescription: "Scheduled publisher runs failed and landed in the dead-letter queue",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: args.deadLetterQueueName },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      ...notify,
    }, { parent: this });

    // Missing data means no run reported success: that is the alarm.
    const noSuccess = new aws.cloudwatch.MetricAlarm("publisher-no-success", {
      name: resourceName("publisher-no-success", environment),
      alarmDescription: "No successful publisher run in two schedule periods",
      namespace: args.metricsNamespace,
      metricName: SUCCESSFUL_RUNS_METRIC,
      dimensions: { service: args.serviceName },
      statistic: "Sum",
      period: 2 * args.schedulePeriodSeconds,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
      ...notify,
    }, { parent: this });

    this.alarmNames = [errors.name, duration.name, deadLetters.name, noSuccess.name];
    this.registerOutputs({ alarmNames: this.alarmNames });
  }
}
