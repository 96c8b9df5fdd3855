/**
 * Package configurations: `config/packages/*.yaml`, one file per package,
 * validated against `config/packages/schema.json` (JSON Schema, ajv).
 *
 * Every file is checked before any work starts, and every problem of every
 * file is reported at once, each naming the file, the field path and what is
 * allowed.
 *
 * @module
 */

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import schema from "../../config/packages/schema.json" with { type: "json" };
import {
  allowedProperties,
  fieldPath,
  lazySchemaValidator,
  schemaDescription,
  type SchemaError,
  shownValue,
} from "../config/schema_errors.ts";
import type { PackageType } from "../domain/package_record.ts";

/** `external_download`: Kiro's release feed. */
export interface ExternalDownloadSource {
  type: "external_download";
  feed_url: string;
  /** SHA-256 fingerprint pin of the signing certificate (hex, colons allowed). */
  certificate_sha256?: string;
  max_size?: number;
  timeout_seconds?: number;
  /** The whole `.deb` download's deadline (default `FETCH_DEFAULTS.deadlineMs`). */
  deadline_seconds?: number;
  max_redirects?: number;
}

/** `build_script`: the build task uploads and records; the sync only publishes. */
export interface BuildScriptSource {
  type: "build_script";
  staging_prefix?: string;
}

/** `github_release`: the newest release of a GitHub repository. */
export interface GitHubReleaseSource {
  type: "github_release";
  repository: string;
  api_url?: string;
  asset_pattern: string;
  checksum_asset_pattern?: string;
  max_size?: number;
  timeout_seconds?: number;
  /** The whole `.deb` download's deadline (default `FETCH_DEFAULTS.deadlineMs`). */
  deadline_seconds?: number;
  max_redirects?: number;
}

/** `upload`: published by `deno task add-deb`; nothing scheduled. */
export interface UploadSource {
  type: "upload";
}

/** Where new versions of a package come from. */
export type SourceConfig =
  | ExternalDownloadSource
  | BuildScriptSource
  | GitHubReleaseSource
  | UploadSource;

/** One package's configuration (one YAML file). */
export interface PackageConfig {
  package_name: string;
  description: string;
  maintainer: string;
  homepage: string;
  section: string;
  priority: string;
  architecture: string;
  depends?: string;
  /** `false`: the scheduled sync skips the package. Default `true`. */
  enabled?: boolean;
  /** The channel new versions from the source enter. Default `stable`. */
  channel?: string;
  /** How many newest versions each channel's index keeps, per architecture. Default: all. */
  keep_versions?: number;
  source: SourceConfig;
}

/** A configuration together with the file it was read from. */
export interface LoadedPackageConfig {
  /** The file, as given (e.g. `config/packages/kiro.yaml`). */
  file: string;
  config: PackageConfig;
}

/** One config file's text. */
export interface ConfigFile {
  /** Path used in messages, e.g. `config/packages/kiro.yaml`. */
  path: string;
  text: string;
}

/** Every problem found in the package configurations (one line each in `message`). */
export class ConfigError extends Error {
  /** One entry per problem: `Cannot read FILE: …`. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** The default folder of package configurations, relative to the project root. */
export const DEFAULT_CONFIG_DIR = "config/packages";

/** The source types the schema accepts (same as the record's package types). */
export const SOURCE_TYPES: readonly PackageType[] = schema.properties.source.properties.type
  .enum as PackageType[];

const validator = lazySchemaValidator(schema, { strictTypes: false, strictRequired: false });

function sourceTypeOf(data: unknown): string | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const source = (data as Record<string, unknown>).source;
  if (typeof source !== "object" || source === null) return undefined;
  const type = (source as Record<string, unknown>).type;
  return typeof type === "string" ? type : undefined;
}

function describeValue(value: unknown): string {
  return shownValue(value, { maxLength: 60 });
}

/** One readable sentence per ajv error (`undefined` for the noise ajv adds around it). */
function describeError(error: SchemaError, data: unknown): string | undefined {
  const path = fieldPath(error.instancePath);
  const where = path === "" ? "the file" : path;
  const params = error.params as Record<string, unknown>;
  const description = schemaDescription(error);
  const inType = error.schemaPath.includes("/allOf/")
    ? ` for source.type ${sourceTypeOf(data)}`
    : "";
  switch (error.keyword) {
    case "if":
    case "propertyNames":
      return undefined;
    case "required":
      return `${
        fieldPath(error.instancePath, String(params.missingProperty))
      } is required${inType}`;
    case "additionalProperties": {
      const allowed = allowedProperties(error);
      return `${
        fieldPath(error.instancePath, String(params.additionalProperty))
      } is not a known field (allowed: ${allowed.join(", ")})`;
    }
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).map(String).join(", ");
      if (error.propertyName !== undefined) {
        return `${
          fieldPath(error.instancePath, error.propertyName)
        } is not allowed${inType} (allowed: ${allowed})`;
      }
      return `${where} must be one of ${allowed}`;
    }
    case "type":
      return `${where} must be ${
        params.type === "object" ? "a mapping" : `of type ${String(params.type)}`
      } (got ${describeValue(error.data)})`;
    case "pattern":
    case "format":
    case "minLength":
      return `${where} is not valid (got ${describeValue(error.data)}): must be ${
        description ??
          (error.keyword === "pattern"
            ? `a string matching ${String(params.pattern)}`
            : error.keyword === "format"
            ? `a valid ${String(params.format)}`
            : "non-empty")
      }`;
    case "minimum":
    case "maximum":
      return `${where} must be ${error.keyword === "minimum" ? ">=" : "<="} ${
        String(params.limit)
      } (got ${describeValue(error.data)})`;
    default:
      return `${where} ${error.message ?? "is not valid"}`;
  }
}

function baseName(path: string): string {
  const name = path.split(/[\\/]/).pop() ?? path;
  return name.replace(/\.ya?ml$/, "");
}

/**
 * Validates one parsed configuration. Returns the problems (empty when valid),
 * each without the `Cannot read FILE:` prefix.
 */
export function configProblems(data: unknown, options: { path?: string } = {}): string[] {
  const validate = validator();
  if (validate(data)) {
    const config = data as PackageConfig;
    if (options.path !== undefined && baseName(options.path) !== config.package_name) {
      return [
        `package_name must equal the file name (${baseName(options.path)}), got ${
          describeValue(config.package_name)
        }: rename the file or the package`,
      ];
    }
    return [];
  }
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const error of validate.errors ?? []) {
    const text = describeError(error, data);
    if (text !== undefined && !seen.has(text)) {
      seen.add(text);
      problems.push(text);
    }
  }
  return problems.length > 0 ? problems : ["the file is not a valid package configuration"];
}

/** Parses YAML text, naming the line and column of a syntax error. */
function parseConfigYaml(file: ConfigFile): { data?: unknown; problem?: string } {
  try {
    return { data: parseYaml(file.text, { prettyErrors: true, uniqueKeys: true }) };
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const at = error.linePos?.[0];
    const position = at ? ` at line ${at.line}, column ${at.col}` : "";
    const reason = error.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "");
    return { problem: `invalid YAML${position}: ${reason}` };
  }
}

/**
 * Parses and validates every given config file; throws one {@linkcode ConfigError}
 * listing every problem of every file (or a duplicate package name), so that
 * nothing runs on a half-valid configuration.
 */
export function parsePackageConfigs(files: readonly ConfigFile[]): LoadedPackageConfig[] {
  const problems: string[] = [];
  const loaded: LoadedPackageConfig[] = [];
  const byName = new Map<string, string>();
  for (const file of files) {
    const { data, problem } = parseConfigYaml(file);
    if (problem !== undefined) {
      problems.push(`Cannot read ${file.path}: ${problem}`);
      continue;
    }
    const found = configProblems(data, { path: file.path });
    if (found.length > 0) {
      problems.push(...found.map((text) => `Cannot read ${file.path}: ${text}`));
      continue;
    }
    const config = data as PackageConfig;
    const other = byName.get(config.package_name);
    if (other !== undefined) {
      problems.push(
        `Cannot read ${file.path}: package_name ${config.package_name} is already configured in ${other}`,
      );
      continue;
    }
    byName.set(config.package_name, file.path);
    loaded.push({ file: file.path, config });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return loaded;
}

/**
 * Reads and validates every `*.yaml`/`*.yml` file of `dir` (sorted by name).
 * Throws {@linkcode ConfigError} listing every problem, also when the folder
 * is missing or holds no configuration.
 */
export async function loadPackageConfigs(
  dir: string = DEFAULT_CONFIG_DIR,
): Promise<LoadedPackageConfig[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
    throw new ConfigError([
      `Cannot read ${dir}: no such folder; give the folder of package configurations (*.yaml)`,
    ]);
  }
  const yamlNames = names.filter((name) => /\.ya?ml$/.test(name)).sort();
  if (yamlNames.length === 0) {
    throw new ConfigError([`Cannot read ${dir}: it holds no package configuration (*.yaml)`]);
  }
  const files = await Promise.all(yamlNames.map(async (name) => {
    const path = join(dir, name);
    return { path, text: await readFile(path, "utf8") };
  }));
  return parsePackageConfigs(files);
}

/** The source of a config, narrowed by type. */
export function sourceOf<T extends SourceConfig["type"]>(
  config: PackageConfig,
  type: T,
): Extract<SourceConfig, { type: T }> | undefined {
  return config.source.type === type
    ? config.source as Extract<SourceConfig, { type: T }>
    : undefined;
}

/**
 * `configs` with the `feed_url` of every enabled `external_download` source
 * replaced by `feedUrl` (`deno task sync local --feed-url`: a run against a
 * fake or mirrored feed, e.g. `deno task fake-feed`). The files on disk are
 * not changed. Throws {@linkcode ConfigError} when no enabled
 * `external_download` source would read it.
 */
export function withFeedUrl(
  configs: readonly LoadedPackageConfig[],
  feedUrl: string,
): LoadedPackageConfig[] {
  const pointed = configs.filter(({ config }) =>
    config.enabled !== false && config.source.type === "external_download"
  );
  if (pointed.length === 0) {
    throw new ConfigError([
      `Cannot use the feed URL ${feedUrl}: no enabled external_download source reads a feed ` +
      `(${configs.map(({ file }) => file).join(", ")}); drop --feed-url or add such a source`,
    ]);
  }
  return configs.map((loaded) =>
    pointed.includes(loaded)
      ? {
        ...loaded,
        config: {
          ...loaded.config,
          source: { ...loaded.config.source as ExternalDownloadSource, feed_url: feedUrl },
        },
      }
      : loaded
  );
}

/** Package name → `keep_versions`, for the packages that set it. */
export function keepVersionsOf(configs: readonly LoadedPackageConfig[]): Map<string, number> {
  const keep = new Map<string, number>();
  for (const { config } of configs) {
    if (config.keep_versions !== undefined) keep.set(config.package_name, config.keep_versions);
  }
  return keep;
}
