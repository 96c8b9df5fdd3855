/**
 * The AWS SDK clients of one environment, created once and shared.
 *
 * Clients are built lazily (the Lambda creates only what a run uses, once per
 * cold start) and cached per {@linkcode StackOutputs} object. Retries are the
 * SDK's own (`maxAttempts`, `retryMode`), not hand-rolled.
 *
 * For `local` the clients point at the stand-ins' `endpoints`, with path-style
 * S3 addressing and fixed dummy credentials (the stand-ins do not check them).
 *
 * Document marshalling (`dynamo`): `removeUndefinedValues: true` drops
 * `undefined` attributes (optional record fields) instead of throwing;
 * `convertClassInstanceToMap: false`; numbers come back as JavaScript
 * `number`s (`wrapNumbers: false`) — safe for our numbers (sizes < 2^53), and
 * the SDK throws rather than lose precision on a larger one.
 *
 * No client has the SDK's logger middleware ({@linkcode withoutSdkLogger}):
 * we give the SDK no logger, and the middleware still walks every request
 * and response through its sensitive-data filter for the default no-op
 * logger, about a tenth of a second of CPU per 10,000 scanned items.
 *
 * @module
 */

import { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { StackOutputs } from "../environment/outputs.ts";

/** The clients of one environment. Each is created on first use. */
export interface AwsClients {
  /** DynamoDB with document (plain JavaScript) marshalling. */
  readonly dynamo: DynamoDBDocumentClient;
  /** DynamoDB with raw attribute values (table administration). */
  readonly dynamoRaw: DynamoDBClient;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  readonly secrets: SecretsManagerClient;
  readonly cloudfront: CloudFrontClient;
  readonly sns: SNSClient;
  /**
   * Releases the clients' sockets (tests, tasks) and forgets them: the next
   * {@linkcode awsClients} call for the same outputs makes new ones.
   */
  destroy(): void;
}

/** How the clients retry. */
export interface AwsClientOptions {
  /** Total attempts per call, first one included (default 5). */
  maxAttempts?: number;
  /** The SDK retry strategy (default `adaptive`: backs off on throttling too). */
  retryMode?: "standard" | "adaptive";
}

/** Credentials for the local stand-ins, which accept any. */
const LOCAL_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

const cache = new WeakMap<StackOutputs, Map<string, AwsClients>>();

/**
 * The clients for `outputs`' environment: region from the outputs, endpoints
 * and dummy credentials for `local`. The same object is returned for the same
 * `outputs` and options.
 */
export function awsClients(outputs: StackOutputs, options: AwsClientOptions = {}): AwsClients {
  const maxAttempts = options.maxAttempts ?? 5;
  const retryMode = options.retryMode ?? "adaptive";
  const key = `${maxAttempts}/${retryMode}`;
  let perOutputs = cache.get(outputs);
  if (perOutputs === undefined) {
    perOutputs = new Map();
    cache.set(outputs, perOutputs);
  }
  const cached = perOutputs.get(key);
  if (cached !== undefined) return cached;
  const made = createClients(outputs, { maxAttempts, retryMode }, () => perOutputs.delete(key));
  perOutputs.set(key, made);
  return made;
}

function createClients(
  outputs: StackOutputs,
  retry: { maxAttempts: number; retryMode: "standard" | "adaptive" },
  forget: () => void,
): AwsClients {
  const local = outputs.endpoints;
  const base = {
    region: outputs.region,
    maxAttempts: retry.maxAttempts,
    retryMode: retry.retryMode,
    ...(local !== undefined ? { credentials: LOCAL_CREDENTIALS } : {}),
  };
  const made: {
    dynamoRaw?: DynamoDBClient;
    dynamo?: DynamoDBDocumentClient;
    s3?: S3Client;
    lambda?: LambdaClient;
    secrets?: SecretsManagerClient;
    cloudfront?: CloudFrontClient;
    sns?: SNSClient;
  } = {};
  // The document client shares the raw client's middleware stack.
  const dynamoRaw = (): DynamoDBClient =>
    made.dynamoRaw ??= withoutSdkLogger(
      new DynamoDBClient({
        ...base,
        ...(local !== undefined ? { endpoint: local.dynamodb } : {}),
      }),
    );
  return {
    get dynamoRaw() {
      return dynamoRaw();
    },
    get dynamo() {
      return made.dynamo ??= DynamoDBDocumentClient.from(dynamoRaw(), {
        marshallOptions: {
          removeUndefinedValues: true,
          convertClassInstanceToMap: false,
          convertEmptyValues: false,
        },
        unmarshallOptions: { wrapNumbers: false },
      });
    },
    get s3() {
      return made.s3 ??= withoutSdkLogger(
        new S3Client({
          ...base,
          ...(local !== undefined ? { endpoint: local.s3, forcePathStyle: true } : {}),
        }),
      );
    },
    get lambda() {
      return made.lambda ??= withoutSdkLogger(new LambdaClient(base));
    },
    get secrets() {
      return made.secrets ??= withoutSdkLogger(new SecretsManagerClient(base));
    },
    get cloudfront() {
      return made.cloudfront ??= withoutSdkLogger(new CloudFrontClient(base));
    },
    get sns() {
      return made.sns ??= withoutSdkLogger(new SNSClient(base));
    },
    destroy() {
      forget();
      // The document client shares the raw client's handler: destroy the raw one.
      made.dynamoRaw?.destroy();
      made.s3?.destroy();
      made.lambda?.destroy();
      made.secrets?.destroy();
      made.cloudfront?.destroy();
      made.sns?.destroy();
    },
  };
}

/** The name the SDK gives its logger middleware (`@aws-sdk/middleware-logger`). */
const SDK_LOGGER_MIDDLEWARE = "loggerMiddleware";

/**
 * `client` without the SDK's logger middleware: it hands each call's input
 * and output, passed through the command's sensitive-data filter (a walk of
 * the whole output), to the configured logger's `info` even when that is the
 * default no-op logger. We configure no SDK logger (our own logs say what
 * was done), so the walk was pure cost.
 *
 * @param client A newly made SDK client.
 */
function withoutSdkLogger<C extends { middlewareStack: { remove(name: string): boolean } }>(
  client: C,
): C {
  client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  return client;
}
