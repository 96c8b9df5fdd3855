/**
 * Reading an environment's stack outputs (`lambda/environment/outputs.ts`
 * says what they are): validation of the JSON Pulumi or `KIRO_OUTPUTS_FILE`
 * gives, with errors that name the source and the field.
 *
 * @module
 */

import { checkArchitectures, parseArchitectures } from "../../lambda/domain/architectures.ts";
import {
  type EnvironmentName,
  parseChannelList,
  type StackOutputs,
} from "../../lambda/environment/outputs.ts";

/** Every {@linkcode EnvironmentName}, for validation and help texts. */
export const ENVIRONMENT_NAMES: readonly EnvironmentName[] = ["local", "dev", "prod"];

/** The stack outputs are missing a field or have a bad value. */
export class StackOutputsError extends Error {
  override name = "StackOutputsError";
}

const REQUIRED = [
  "tableName",
  "legacyTableName",
  "bucketName",
  "functionName",
  "repoUrl",
  "signingKeySecretId",
  "region",
] as const;

const OPTIONAL = ["distributionId", "notificationTopicArn"] as const;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * Validates stack outputs (a parsed JSON object, or JSON text) into a
 * {@linkcode StackOutputs}.
 *
 * Unknown fields are ignored (a stack may export more than we read). Errors
 * name the `source` (a file, or `pulumi stack output --stack dev`) and the field.
 *
 * @example
 * ```ts
 * const outputs = parseStackOutputs(await readFile(file, "utf8"), { source: file });
 * ```
 */
export function parseStackOutputs(
  json: unknown,
  options: { source: string; environment?: EnvironmentName },
): StackOutputs {
  const { source } = options;
  let value = json;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch (error) {
      const why = error instanceof SyntaxError ? error.message : String(error);
      throw new StackOutputsError(
        `Cannot read the stack outputs from ${source}: invalid JSON (${why})`,
      );
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new StackOutputsError(
      `Cannot read the stack outputs from ${source}: expected a JSON object of outputs`,
    );
  }
  const raw = value as Record<string, unknown>;
  const fail = (field: string, what: string): never => {
    throw new StackOutputsError(`Cannot read the stack outputs from ${source}: ${field} ${what}`);
  };
  const text = (field: string): string | undefined => {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v.trim() === "") fail(field, "must be a non-empty string");
    return v as string;
  };

  const environment = text("environment") ?? options.environment;
  if (environment === undefined) fail("environment", "is missing");
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(environment as string)) {
    fail("environment", `must be one of ${ENVIRONMENT_NAMES.join(", ")} (got "${environment}")`);
  }
  if (
    options.environment !== undefined && raw.environment !== undefined &&
    environment !== options.environment
  ) {
    fail(
      "environment",
      `is "${environment}" but the outputs were read for "${options.environment}"`,
    );
  }

  const required: Record<string, string> = {};
  const missing = REQUIRED.filter((field) => text(field) === undefined);
  if (missing.length > 0) {
    fail(
      missing.join(", "),
      `${
        missing.length === 1 ? "is" : "are"
      } missing (run pulumi up for this stack, or fix the file)`,
    );
  }
  for (const field of REQUIRED) required[field] = text(field) as string;

  const repoUrl = required.repoUrl as string;
  if (!isHttpUrl(repoUrl)) fail("repoUrl", `must be an http(s) URL (got "${repoUrl}")`);

  const outputs: StackOutputs = {
    environment: environment as EnvironmentName,
    tableName: required.tableName as string,
    legacyTableName: required.legacyTableName as string,
    bucketName: required.bucketName as string,
    functionName: required.functionName as string,
    repoUrl: repoUrl.replace(/\/+$/, ""),
    signingKeySecretId: required.signingKeySecretId as string,
    region: required.region as string,
  };
  for (const field of OPTIONAL) {
    const v = text(field);
    if (v !== undefined) outputs[field] = v;
  }

  const channels = raw.channels;
  if (channels !== undefined && channels !== null) {
    const text = Array.isArray(channels) ? channels.join(",") : channels;
    if (typeof text !== "string") fail("channels", 'must be a list such as "stable,beta"');
    try {
      outputs.channels = parseChannelList(text as string);
    } catch (error) {
      fail("channels", (error as Error).message);
    }
  }

  // The stack exports the list comma-separated; a file may hold a JSON list.
  const architectures = raw.architectures;
  if (architectures !== undefined && architectures !== null) {
    try {
      if (typeof architectures === "string") {
        outputs.architectures = parseArchitectures(architectures, { setting: "architectures" });
      } else if (
        Array.isArray(architectures) && architectures.every((item) => typeof item === "string")
      ) {
        outputs.architectures = [
          ...checkArchitectures(architectures as string[], { setting: "architectures" }),
        ];
      } else {
        fail("architectures", 'must be a list of architecture names (e.g. "amd64,arm64,all")');
      }
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      fail("architectures", error.message.slice("architectures ".length));
    }
  }

  const endpoints = raw.endpoints;
  if (endpoints !== undefined && endpoints !== null) {
    if (typeof endpoints !== "object" || Array.isArray(endpoints)) {
      fail("endpoints", "must be an object with dynamodb and s3 URLs");
    }
    const e = endpoints as Record<string, unknown>;
    for (const service of ["dynamodb", "s3"] as const) {
      const url = e[service];
      if (typeof url !== "string" || !isHttpUrl(url)) {
        fail(`endpoints.${service}`, "must be an http(s) URL");
      }
    }
    outputs.endpoints = { dynamodb: e.dynamodb as string, s3: e.s3 as string };
  }
  if (outputs.environment === "local" && outputs.endpoints === undefined) {
    fail("endpoints", "is missing (the local environment needs the stand-ins' endpoints)");
  }
  return outputs;
}
