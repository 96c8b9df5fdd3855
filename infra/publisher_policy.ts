/**
 * The publisher Lambda's permissions: only this environment's own resources,
 * each named by its ARN — never `Resource: "*"`.
 *
 * Things the role deliberately does not get, because they would need `*`:
 * `cloudwatch:PutMetricData` (metrics go out as embedded-metric-format log
 * lines, written with the log permissions below) and X-Ray tracing.
 *
 * @module
 */

/** The ARNs the publisher may use (all resolved). */
export interface PublisherResourceArns {
  tableArn: string;
  packageNameIndexArn: string;
  bucketArn: string;
  signingKeySecretArn: string;
  notificationTopicArn: string;
  distributionArn: string;
  logGroupArn: string;
  deadLetterQueueArn: string;
  kmsKeyArn: string;
  /** For the `kms:ViaService` condition. */
  region: string;
}

/** One IAM policy statement. */
export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/**
 * The publisher role's policy document.
 *
 * @example
 * ```ts
 * const policy = JSON.stringify(publisherPolicyDocument(arns));
 * ```
 */
export function publisherPolicyDocument(arns: PublisherResourceArns): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PackagesTable",
        Effect: "Allow",
        Action: [
          "dynamodb:DescribeTable",
          "dynamodb:GetItem",
          "dynamodb:BatchGetItem",
          "dynamodb:Query",
          "dynamodb:Scan",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:ConditionCheckItem",
        ],
        Resource: [arns.tableArn],
      },
      {
        Sid: "PackagesByName",
        Effect: "Allow",
        Action: ["dynamodb:Query", "dynamodb:Scan"],
        Resource: [arns.packageNameIndexArn],
      },
      {
        Sid: "RepositoryObjects",
        Effect: "Allow",
        Action: [
          "s3:GetObject",
          "s3:PutObject",
          "s3:DeleteObject",
          "s3:AbortMultipartUpload",
          "s3:ListMultipartUploadParts",
        ],
        Resource: [`${arns.bucketArn}/*`],
      },
      {
        Sid: "RepositoryListing",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [arns.bucketArn],
      },
      {
        Sid: "SigningKey",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        Resource: [arns.signingKeySecretArn],
      },
      {
        Sid: "Notifications",
        Effect: "Allow",
        Action: ["sns:Publish"],
        Resource: [arns.notificationTopicArn],
      },
      {
        Sid: "CacheInvalidation",
        Effect: "Allow",
        Action: ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
        Resource: [arns.distributionArn],
      },
      {
        Sid: "OwnLogGroup",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [`${arns.logGroupArn}:*`],
      },
      {
        Sid: "DeadLetterQueue",
        Effect: "Allow",
        Action: ["sqs:SendMessage"],
        Resource: [arns.deadLetterQueueArn],
      },
      {
        // The secret, the topic and the queue are encrypted with the
        // environment's key; their services use it on the publisher's behalf.
        Sid: "EnvironmentKeyThroughItsServices",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: [arns.kmsKeyArn],
        Condition: {
          StringEquals: {
            "kms:ViaService": ["secretsmanager", "sns", "sqs", "dynamodb"].map((service) =>
              `${service}.${arns.region}.amazonaws.com`
            ),
          },
        },
      },
    ],
  };
}

/** The trust policy that lets the Lambda service assume the publisher role. */
export function lambdaAssumeRolePolicy(): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [{
      Sid: "LambdaAssumesTheRole",
      Effect: "Allow",
      Principal: { Service: "lambda.amazonaws.com" },
      Action: "sts:AssumeRole",
    }],
  };
}
