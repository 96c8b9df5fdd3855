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
}
