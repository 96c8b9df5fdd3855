/**
 * The schedule: an EventBridge rule that invokes the publisher at the stack's
 * rate (a scheduled sync; `{"force_rebuild": true}` is invoked on demand).
 *
 * @module
 */

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type DeployEnvironment, resourceName } from "./naming.ts";

/** Arguments of {@linkcode Schedule}. */
export interface ScheduleArgs {
  environment: DeployEnvironment;
  /** `rate(…)` expression from the stack config. */
  scheduleRate: string;
  functionName: pulumi.Input<string>;
  functionArn: pulumi.Input<string>;
}

/** The rule, its target and the permission for EventBridge to invoke the function. */
export class Schedule extends pulumi.ComponentResource {
  readonly ruleName: pulumi.Output<string>;

  constructor(name: string, args: ScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kiro:infra:Schedule", name, {}, opts);
    const rule = new aws.cloudwatch.EventRule("schedule", {
      name: resourceName("schedule", args.environment),
      description: `Runs the Kiro APT repository sync (${args.environment})`,
      scheduleExpression: args.scheduleRate,
      state: "ENABLED",
    }, { parent: this });
    const permission = new aws.lambda.Permission("schedule-invokes-publisher", {
      action: "lambda:InvokeFunction",
      function: args.functionName,
      principal: "events.amazonaws.com",
      sourceArn: rule.arn,
    }, { parent: this });
    new aws.cloudwatch.EventTarget("schedule-target", {
      rule: rule.name,
      arn: args.functionArn,
    }, { parent: this, dependsOn: [permission] });
    this.ruleName = rule.name;
    this.registerOutputs({ ruleName: this.ruleName });
  }
}
