/**
 * The stack outputs: the resource names of one environment (`docs/design.md`,
 * "Environments").
 *
 * `dev` and `prod` read them from the Pulumi stack (`pulumi stack output --json`)
 * or from a `KIRO_OUTPUTS_FILE`; `local` builds them from the embedded stand-ins.
 * Both the Lambda and the tasks use this one type; the tasks read and
 * validate it with `parseStackOutputs` (`tasks/lib/stack_outputs.ts`).
 *
 * @module
 */

import { channelNameProblem, DEFAULT_CHANNELS } from "../domain/channels.ts";

/** The environments the tool knows. */
export type EnvironmentName = "local" | "dev" | "prod";

/** Service endpoints of the local stand-ins (absent on AWS). */
export interface StackEndpoints {
  /** The DynamoDB API, e.g. `http://127.0.0.1:4567`. */
  dynamodb: string;
  /** The S3 API, e.g. `http://127.0.0.1:4568` (path-style). */
  s3: string;
}

/** The outputs of one environment's stack. */
export interface StackOutputs {
  environment: EnvironmentName;
  /** The packages table, e.g. `kiro-debian-repo-manager-packages-dev`. */
  tableName: string;
  /** The legacy (pre-migration) table, e.g. `kiro-package-versions-dev`. */
  legacyTableName: string;
  /** The repository bucket, e.g. `kiro-debian-repo-manager-repo-dev`. */
  bucketName: string;
  /** The publisher Lambda's name. */
  functionName: string;
  /** The public URL of the repository, without a trailing slash. */
  repoUrl: string;
  /** The CloudFront distribution (absent locally). */
  distributionId?: string;
  /** The Secrets Manager secret holding the signing key; locally a file path. */
  signingKeySecretId: string;
  /** The SNS topic for notifications (absent locally). */
  notificationTopicArn?: string;
  /** The AWS region, e.g. `us-east-1`. */
  region: string;
  /**
   * The architectures the repository publishes (the stack setting
   * `architectures`); absent: `amd64`, `arm64` and `all` (`lambda/deb/door.ts`).
   */
  architectures?: string[];
  /** The stand-ins' endpoints (local only). */
  endpoints?: StackEndpoints;
  /** The channels the repository publishes, the default one first (absent: `stable`, `beta`). */
  channels?: string[];
}

/**
 * The channels of a comma-separated list (`stable,beta`). Throws an `Error`
 * whose message says what is wrong (to follow the setting's name).
 */
export function parseChannelList(text: string): string[] {
  const channels = text.split(",").map((channel) => channel.trim());
  for (const channel of channels) {
    const problem = channelNameProblem(channel);
    if (problem !== undefined) throw new Error(`must list channel names: ${problem}`);
  }
  if (new Set(channels).size !== channels.length) {
    throw new Error(`names a channel twice (got "${text}")`);
  }
  return channels;
}

/** The channels `outputs` publishes, the default one first. */
export function stackChannels(outputs: Pick<StackOutputs, "channels">): readonly string[] {
  return outputs.channels ?? DEFAULT_CHANNELS;
}
