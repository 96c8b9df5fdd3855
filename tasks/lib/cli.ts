/**
 * The command-line helper every task uses: declared options → parsed values,
 * a generated `--help`, and usage errors that exit with code 2.
 *
 * Built on `node:util` `parseArgs` (strict: unknown options are errors).
 *
 * One grammar for every task: a command that declares `env` takes `--env ENV`
 * and a positional `ENV` (a positional that is an environment name, in any
 * place: `deno task migrate prod --dry-run`); one that does not says so in its
 * `--help` and refuses both. Lists are comma-separated (`list: true`).
 *
 * @example
 * ```ts
 * const cli = parseCommandLine(args, {
 *   name: "outputs",
 *   summary: "Print an environment's stack outputs as JSON",
 *   options: { env: ENV_OPTION },
 * });
 * if (cli.exitCode !== undefined) return cli.exitCode;
 * cli.values.env; // string | undefined: --env ENV or the positional ENV
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";

/** One declared option. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** One-letter alias (`-h`). */
  short?: string;
  /** One line for `--help`. */
  description: string;
  /** The value's placeholder in `--help` (default `VALUE`). */
  valueName?: string;
  /**
   * A comma-separated list (`--only a,b`): the value is the items in order.
   * Lists are always comma-separated, never repeated flags (one grammar).
   */
  list?: boolean;
  /** The only values allowed (string options). */
  choices?: readonly string[];
  /** The value when the option is absent (shown in `--help`). */
  default?: string | boolean;
}

/** One declared positional argument. */
export interface PositionalSpec {
  name: string;
  description: string;
  /** Must be given (default false). */
  required?: boolean;
  /** Takes every remaining argument (only the last positional may; default false). */
  variadic?: boolean;
}

/** A command's declaration. */
export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** The task name, as in `deno task NAME`. */
  name: string;
  /** One line saying what the command does. */
  summary: string;
  /** More paragraphs for `--help`. */
  description?: string;
  options: O;
  /** Positionals in order; without it, none are accepted. */
  positionals?: readonly PositionalSpec[];
  /** Example command lines for `--help`. */
  examples?: readonly string[];
}

/** The parsed value of one option. */
export type OptionValue<S extends OptionSpec> = S["type"] extends "boolean" ? boolean
  : S["list"] extends true ? string[]
  : S["default"] extends string ? string
  : string | undefined;

/** The parsed values of every declared option. */
export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: OptionValue<O[K]>;
};

/** The result of {@linkcode parseCommandLine}. */
export interface ParsedCommandLine<O extends Record<string, OptionSpec>> {
  /** Set when the task must stop now: 0 after `--help`, 2 after a usage error. */
  exitCode?: 0 | 2;
  values: OptionValues<O>;
  positionals: string[];
}

/** Where {@linkcode parseCommandLine} writes help and errors (tests capture them). */
export interface CommandLineOutput {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** The `--env` option every environment-aware task declares. */
export const ENV_OPTION = {
  type: "string",
  short: "e",
  valueName: "ENV",
  choices: ["local", "dev", "prod"],
  description: "environment: local, dev or prod (default $KIRO_ENV, else local)",
} as const satisfies OptionSpec;

/** The names a positional `ENV` may take (`deno task migrate prod`). */
export const ENVIRONMENT_POSITIONAL_NAMES = ["local", "dev", "prod"] as const;

/** `--json` of the tasks that report something: one JSON document on stdout. */
export const JSON_OPTION = {
  type: "boolean",
  description: "print one JSON document on stdout (progress stays on stderr)",
} as const satisfies OptionSpec;

/**
 * Prints `value` as the one JSON document of a `--json` run (stdout, two-space
 * indent, one trailing newline).
 */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** `--arch ARCH` of the commands that name identities (`NAME VERSION`). */
export const ARCH_OPTION = {
  type: "string",
  valueName: "ARCH",
  description: "only this architecture (default: every architecture of the version)",
} as const satisfies OptionSpec;

/** `--dry-run` of the commands that change the table. */
export const DRY_RUN_OPTION = {
  type: "boolean",
  description: "say what would change; change nothing",
} as const satisfies OptionSpec;

/** The `NAME VERSION` positionals of the commands that name identities. */
export const IDENTITY_POSITIONALS = [
  { name: "NAME", description: "the package name", required: true },
  { name: "VERSION", description: "the version (any spelling dpkg holds equal)", required: true },
] as const satisfies readonly PositionalSpec[];

/** A usage error: a bad option, value or positional. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The positional `ENV` every task with an `--env` option takes. */
function envPositional(option: OptionSpec): PositionalSpec {
  const names = option.choices ?? ENVIRONMENT_POSITIONAL_NAMES;
  return { name: "ENV", description: `${names.join(", ")}: the same as --env ENV` };
}

/**
 * Takes the positional `ENV` out of `positionals`: the one that is an
 * environment name (a file or package named like one is given as `./prod`).
 */
function takeEnvPositional(
  positionals: string[],
  flag: string | undefined,
): { env: string | undefined; rest: string[] } {
  const names: readonly string[] = ENVIRONMENT_POSITIONAL_NAMES;
  const found = positionals.filter((p) => names.includes(p));
  const rest = positionals.filter((p) => !names.includes(p));
  const given = [...(flag === undefined ? [] : [`--env ${flag}`]), ...found];
  if (new Set([flag, ...found].filter((v) => v !== undefined)).size > 1) {
    throw new UsageError(`The environment is given twice: ${given.join(" and ")}; give it once`);
  }
  return { env: flag ?? found[0], rest };
}

function optionLabel(key: string, spec: OptionSpec): string {
  const flag = `--${key}${spec.type === "string" ? ` ${spec.valueName ?? "VALUE"}` : ""}`;
  return spec.short !== undefined ? `-${spec.short}, ${flag}` : `    ${flag}`;
}

/** The `--help` text of `spec`. */
export function helpText<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const declared = [
    ...(spec.positionals ?? []),
    ...("env" in spec.options ? [envPositional(spec.options["env"] as OptionSpec)] : []),
  ];
  const positionals = declared
    .map((p) => (p.required === true ? p.name : `[${p.name}]`)).join(" ");
  const lines = [
    `Usage: deno task ${spec.name} [OPTIONS]${positionals === "" ? "" : ` ${positionals}`}`,
    "",
    spec.summary,
  ];
  if (spec.description !== undefined) lines.push("", spec.description.trimEnd());
  if (!("env" in spec.options)) {
    lines.push("", "Environment: none; this task takes no --env and no ENV argument.");
  }
  if (declared.length > 0) {
    lines.push("", "Arguments:");
    const width = Math.max(...declared.map((p) => p.name.length));
    for (const p of declared) {
      lines.push(`  ${p.name.padEnd(width)}  ${p.description}`);
    }
  }
  const rows: [string, string][] = Object.entries(spec.options).map(([key, option]) => {
    const extras = [
      ...(option.choices !== undefined &&
          !option.choices.every((choice) => option.description.includes(choice))
        ? [`one of ${option.choices.join(", ")}`]
        : []),
      ...(option.default !== undefined && option.type === "string"
        ? [`default ${option.default}`]
        : []),
      ...(option.list === true ? ["comma-separated list"] : []),
    ];
    return [
      optionLabel(key, option),
      extras.length > 0 ? `${option.description} (${extras.join("; ")})` : option.description,
    ];
  });
  rows.push(["-h, --help", "show this help and exit"]);
  const width = Math.max(...rows.map(([label]) => label.length));
  lines.push("", "Options:", ...rows.map(([label, text]) => `  ${label.padEnd(width)}  ${text}`));
  if ((spec.examples ?? []).length > 0) {
    lines.push("", "Examples:", ...(spec.examples ?? []).map((e) => `  ${e}`));
  }
  return lines.join("\n") + "\n";
}

function parseOrThrow<O extends Record<string, OptionSpec>>(
  args: readonly string[],
  spec: CommandSpec<O>,
): { help: boolean; values: OptionValues<O>; positionals: string[] } {
  if ("help" in spec.options) {
    throw new Error(`Option --help is built in: ${spec.name} declares it`);
  }
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [key, option] of Object.entries(spec.options)) {
    options[key] = {
      type: option.type,
      ...(option.short !== undefined ? { short: option.short } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, ""));
    }
    throw error;
  }
  const help = parsed.values.help === true;
  const parsedValues = parsed.values as Record<string, unknown>;
  let positionals = parsed.positionals;
  if ("env" in spec.options) {
    const { env, rest } = takeEnvPositional(positionals, parsedValues["env"] as string | undefined);
    parsedValues["env"] = env;
    positionals = rest;
  }
  const values: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(spec.options)) {
    const raw = parsedValues[key];
    const value = option.list === true && typeof raw === "string"
      ? raw.split(",").map((item) => item.trim()).filter((item) => item !== "")
      : raw;
    if (value === undefined) {
      values[key] = option.list === true
        ? []
        : option.type === "boolean"
        ? (option.default ?? false)
        : option.default;
      continue;
    }
    if (option.choices !== undefined) {
      for (const item of (Array.isArray(value) ? value : [value]) as string[]) {
        if (!option.choices.includes(item)) {
          throw new UsageError(
            `Option --${key} must be one of ${option.choices.join(", ")} (got "${item}")`,
          );
        }
      }
    }
    values[key] = value;
  }
  const declared = spec.positionals ?? [];
  if (!help) {
    const variadic = declared[declared.length - 1]?.variadic === true;
    const names: readonly string[] = ENVIRONMENT_POSITIONAL_NAMES;
    const strayEnv = positionals.find((p) => names.includes(p));
    if (!("env" in spec.options) && strayEnv !== undefined) {
      throw new UsageError(
        `Unexpected argument "${strayEnv}": ${spec.name} acts on no environment; drop it`,
      );
    }
    if (!variadic && positionals.length > declared.length) {
      const extra = positionals.slice(declared.length).map((p) => `"${p}"`).join(", ");
      throw new UsageError(
        declared.length === 0
          ? `Unexpected argument ${extra}: ${spec.name} takes no arguments`
          : `Unexpected argument ${extra}: ${spec.name} takes at most ${declared.length}`,
      );
    }
    const missing = declared.filter((p, i) => p.required === true && positionals[i] === undefined);
    if (missing.length > 0) {
      throw new UsageError(`Missing argument ${missing.map((p) => p.name).join(", ")}`);
    }
  }
  return { help, values: values as OptionValues<O>, positionals };
}

/**
 * Parses `args` against `spec`. On `--help` prints the help to stdout and
 * returns `exitCode: 0`; on a usage error prints the error and a pointer to
 * `--help` to stderr and returns `exitCode: 2`. Otherwise returns the values.
 */
export function parseCommandLine<O extends Record<string, OptionSpec>>(
  args: readonly string[],
  spec: CommandSpec<O>,
  output: CommandLineOutput = {},
): ParsedCommandLine<O> {
  const stdout = output.stdout ?? ((text: string) => console.log(text.trimEnd()));
  const stderr = output.stderr ?? ((text: string) => console.error(text.trimEnd()));
  try {
    const { help, values, positionals } = parseOrThrow(args, spec);
    if (help) {
      stdout(helpText(spec));
      return { exitCode: 0, values, positionals };
    }
    return { values, positionals };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr(`${spec.name}: ${error.message}\nRun "deno task ${spec.name} --help" for usage.\n`);
    return { exitCode: 2, values: {} as OptionValues<O>, positionals: [] };
  }
}
