/**
 * The kiro-repo build configuration: `kiro-repo-deb/config/ENV.json`,
 * validated against `kiro-repo-deb/config/schema.json` (JSON Schema, ajv) and
 * a few checks JSON Schema cannot express (dpkg's own version rules). Every
 * problem is reported at once, each naming the file and the field; nothing is
 * built from a configuration with a problem (`docs/design.md`, "kiro-repo").
 *
 * @module
 */

import schema from "../../kiro-repo-deb/config/schema.json" with { type: "json" };
import {
  allowedProperties,
  fieldPath,
  lazySchemaValidator,
  schemaDescription,
  type SchemaError,
  shownValue,
} from "../../lambda/config/schema_errors.ts";
import { versionError } from "../../lambda/domain/version.ts";
import type { EnvironmentName } from "../../lambda/environment/outputs.ts";

/** One environment's kiro-repo build configuration. */
export interface KiroRepoConfig {
  package_name: "kiro-repo";
  /** A native Debian version (no `-revision`). */
  version: string;
  architecture: "all";
  environment: EnvironmentName;
  /** The repository's public URL, without a trailing `/`. */
  repo_url: string;
  section: string;
  priority: string;
  /** `Name <email>`. */
  maintainer: string;
  homepage: string;
  /** The one-line synopsis. */
  description: string;
  /** The extended description, one entry per line (`""` = paragraph break). */
  description_long: string[];
}

/** A configuration cannot be used; `problems` lists every reason. */
export class KiroRepoConfigError extends Error {
  override name = "KiroRepoConfigError";
  /** The file (or other source) the configuration came from. */
  readonly source: string;
  /** One sentence per problem, each naming its field. */
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(
      problems.length === 1
        ? `Cannot use ${source}: ${problems[0]}`
        : `Cannot use ${source}:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
    this.source = source;
    this.problems = problems;
  }
}

/** The fields every configuration must have, in the schema's order. */
export const REQUIRED_CONFIG_FIELDS: readonly string[] = schema.required;

const validator = lazySchemaValidator(schema);

function describe(error: SchemaError): string {
  const path = fieldPath(error.instancePath);
  const where = path === "" ? "the configuration" : path;
  const params = error.params as Record<string, unknown>;
  const description = schemaDescription(error);
  switch (error.keyword) {
    case "required":
      return `${fieldPath(error.instancePath, String(params.missingProperty))} is required`;
    case "additionalProperties": {
      const allowed = allowedProperties(error).filter((name) => name !== "$schema");
      return `${
        fieldPath(error.instancePath, String(params.additionalProperty))
      } is not a known field: remove it (known fields: ${allowed.join(", ")})`;
    }
    case "enum":
      return `${where} must be ${
        (params.allowedValues as unknown[]).map((value) => String(value)).join(" or ")
      } (got ${shownValue(error.data)})`;
    case "type":
      return `${where} must be ${
        params.type === "object"
          ? "an object"
          : params.type === "array"
          ? "a list"
          : `a ${String(params.type)}`
      } (got ${shownValue(error.data)})`;
    case "pattern":
    case "format":
    case "minLength":
    case "maxLength":
    case "minItems":
      return `${where} is not valid (got ${shownValue(error.data)}): must be ${
        description ?? error.message ?? "valid"
      }`;
    default:
      return `${where} ${error.message ?? "is not valid"}`;
  }
}

/**
 * Every problem of `data` as a kiro-repo configuration (empty when valid).
 * `environment`, when given, is the environment the file is used for: the
 * file's own `environment` must name it.
 */
export function configProblems(
  data: unknown,
  options: { environment?: EnvironmentName } = {},
): string[] {
  const validate = validator();
  const problems: string[] = [];
  if (!validate(data)) {
    const seen = new Set<string>();
    for (const error of validate.errors ?? []) {
      // A format error and a pattern error on the same field say the same thing.
      const keyword = error.keyword === "format" ? "pattern" : error.keyword;
      const key = `${error.instancePath}|${keyword}|${
        keyword === "required" || keyword === "additionalProperties"
          ? JSON.stringify(error.params)
          : ""
      }`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(describe(error));
    }
    return problems;
  }
  const config = data as KiroRepoConfig;
  const badVersion = versionError(config.version);
  if (badVersion !== null) {
    problems.push(
      `version is not a valid Debian version (got ${shownValue(config.version)}): ${badVersion}`,
    );
  }
  for (const field of ["repo_url", "homepage"] as const) {
    try {
      new URL(config[field]);
    } catch {
      problems.push(`${field} is not a valid URL (got ${shownValue(config[field])})`);
    }
  }
  if (options.environment !== undefined && config.environment !== options.environment) {
    problems.push(
      `environment is ${shownValue(config.environment)} but the file is used for ` +
        `${options.environment}: use kiro-repo-deb/config/${options.environment}.json`,
    );
  }
  return problems;
}

/**
 * Parses and validates a configuration file's text. Throws
 * {@linkcode KiroRepoConfigError} naming `options.source` and every problem
 * (a JSON syntax error is one problem, with its position).
 */
export function parseKiroRepoConfig(
  text: string,
  options: { source: string; environment?: EnvironmentName },
): KiroRepoConfig {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const why = error instanceof SyntaxError ? error.message : String(error);
    throw new KiroRepoConfigError(options.source, [`it is not valid JSON (${why})`]);
  }
  const problems = configProblems(
    data,
    options.environment === undefined ? {} : { environment: options.environment },
  );
  if (problems.length > 0) throw new KiroRepoConfigError(options.source, problems);
  return data as KiroRepoConfig;
}

/**
 * Whether `version` may be built as kiro-repo: a native Debian version
 * (the schema's rule) that dpkg accepts. Returns the problem, or `null`.
 */
export function kiroRepoVersionError(version: string): string | null {
  if (!new RegExp(schema.properties.version.pattern).test(version)) {
    return `must be ${schema.properties.version.description}`;
  }
  return versionError(version);
}

/**
 * Whether `url` may be written into the package (sources file and maintainer
 * scripts): the schema's `repo_url` rule. Returns the problem, or `null`.
 */
export function repoUrlError(url: string): string | null {
  if (!new RegExp(schema.properties.repo_url.pattern).test(url)) {
    return `must be ${schema.properties.repo_url.description}`;
  }
  try {
    new URL(url);
  } catch {
    return "is not a valid URL";
  }
  return null;
}
