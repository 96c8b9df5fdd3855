/**
 * Environment resolution for tasks (`docs/design.md`, "Environments").
 *
 * The environment is `--env`, else a positional `ENV`, else `$KIRO_ENV`, else
 * `local`. Its outputs come from:
 *
 * - `dev` / `prod`: `$KIRO_OUTPUTS_FILE` when set, else
 *   `pulumi stack output --json --show-secrets --stack ENV` (run in the
 *   project folder). Each way this can fail has its own message that says what
 *   to run: no Pulumi CLI, not logged in, no such stack, stack not deployed,
 *   unreadable outputs.
 * - `local`: the running `deno task dev`, or stand-ins started for the task.
 *
 * @module
 */

import { join } from "node:path";
import { type EnvironmentName, type StackOutputs } from "../../lambda/environment/outputs.ts";
import { ENVIRONMENT_NAMES, parseStackOutputs, StackOutputsError } from "./stack_outputs.ts";
import { localStateDir, projectRoot, runningLocalStack, startLocalStack } from "./local_stack.ts";
import { UsageError } from "./cli.ts";
import { type CommandResult, runCommand } from "./command.ts";

/** Why the outputs of an environment could not be read. */
export type EnvironmentErrorReason =
  | "pulumi_missing"
  | "not_logged_in"
  | "stack_not_found"
  | "not_deployed"
  | "invalid_outputs"
  | "pulumi_failed"
  | "outputs_file"
  | "local_state"
  | "credentials";

/** The outputs of an environment cannot be read; `reason` says why. */
export class EnvironmentError extends Error {
  override name = "EnvironmentError";
  readonly reason: EnvironmentErrorReason;

  constructor(reason: EnvironmentErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** What the command line said about the environment. */
export interface EnvironmentFlags {
  /** The `--env` value. */
  env?: string | undefined;
  /** The positional `ENV`, where the task takes one. */
  positional?: string | undefined;
}

function checkName(value: string, where: string): EnvironmentName {
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(value)) {
    throw new UsageError(
      `${where} must be one of ${ENVIRONMENT_NAMES.join(", ")} (got "${value}")`,
    );
  }
  return value as EnvironmentName;
}

/**
 * The environment the command line selects: `--env`, else the positional,
 * else `$KIRO_ENV`, else `local`. Throws {@linkcode UsageError} for an unknown
 * name, or when `--env` and the positional disagree.
 */
export function environmentName(
  flags: EnvironmentFlags,
  options: { env?: Record<string, string | undefined> } = {},
): EnvironmentName {
  const { env, positional } = flags;
  if (env !== undefined && positional !== undefined && env !== positional) {
    throw new UsageError(
      `The environment is given twice: --env ${env} and ${positional}; give it once`,
    );
  }
  if (env !== undefined) return checkName(env, "Option --env");
  if (positional !== undefined) return checkName(positional, "The environment argument");
  const fromVar = variable("KIRO_ENV", options);
  if (fromVar !== undefined && fromVar !== "") return checkName(fromVar, "KIRO_ENV");
  return "local";
}

/** How {@linkcode readStackOutputs} runs Pulumi. */
export interface ReadStackOutputsOptions {
  /** The Pulumi project folder (default: the repository root). */
  cwd?: string;
  /**
   * The environment variables to read (`KIRO_ENV`, `KIRO_OUTPUTS_FILE`,
   * `PATH` for finding `pulumi`); default: this process's.
   */
  env?: Record<string, string | undefined>;
}

function variable(name: string, options: { env?: Record<string, string | undefined> }) {
  return options.env !== undefined ? options.env[name] : Deno.env.get(name);
}

function tail(text: string): string {
  const lines = text.trim().split("\n").filter((line) => line.trim() !== "");
  return lines.slice(-3).join(" / ");
}

/**
 * The outputs of `dev` or `prod`: from `$KIRO_OUTPUTS_FILE` when set, else from
 * `pulumi stack output`. Throws {@linkcode EnvironmentError}.
 */
export async function readStackOutputs(
  env: Exclude<EnvironmentName, "local">,
  options: ReadStackOutputsOptions = {},
): Promise<StackOutputs> {
  const file = variable("KIRO_OUTPUTS_FILE", options);
  if (file !== undefined && file !== "") {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      const why = error instanceof Deno.errors.NotFound ? "no such file" : String(error);
      throw new EnvironmentError(
        "outputs_file",
        `Cannot read KIRO_OUTPUTS_FILE=${file}: ${why} (unset it to ask Pulumi instead)`,
      );
    }
    return validated(outputsFor(text, env), `KIRO_OUTPUTS_FILE=${file}`, env);
  }

  const command = ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", env];
  const shown = command.join(" ");
  let output: CommandResult;
  try {
    output = await runCommand(command[0] as string, command.slice(1), {
      cwd: options.cwd ?? projectRoot(),
      ...(options.env?.PATH !== undefined ? { env: { PATH: options.env.PATH } } : {}),
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new EnvironmentError(
        "pulumi_missing",
        `Cannot read the ${env} stack outputs: the Pulumi CLI (pulumi) is not on the PATH; ` +
          `install it (curl -fsSL https://get.pulumi.com | sh), or set KIRO_OUTPUTS_FILE to a ` +
          `JSON file of the stack outputs`,
      );
    }
    throw error;
  }
  const { stdout, stderr } = output;
  if (!output.success) {
    if (
      /PULUMI_ACCESS_TOKEN|not logged in|pulumi login|unauthorized|invalid access token/i.test(
        stderr,
      )
    ) {
      throw new EnvironmentError(
        "not_logged_in",
        `Cannot read the ${env} stack outputs: the Pulumi CLI is not logged in; run ` +
          `"pulumi login" (or set PULUMI_ACCESS_TOKEN), or set KIRO_OUTPUTS_FILE`,
      );
    }
    if (/no stack named|stack .*not found|could not find stack|no stack .* found/i.test(stderr)) {
      throw new EnvironmentError(
        "stack_not_found",
        `Cannot read the ${env} stack outputs: Pulumi has no stack named "${env}"; ` +
          `create and deploy it with "pulumi up -s ${env}" (or check "pulumi stack ls")`,
      );
    }
    throw new EnvironmentError(
      "pulumi_failed",
      `Cannot read the ${env} stack outputs: "${shown}" failed with exit code ${output.code}` +
        (stderr.trim() !== "" ? `: ${tail(stderr)}` : ""),
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new EnvironmentError(
      "invalid_outputs",
      `Cannot read the ${env} stack outputs: "${shown}" printed something that is not JSON ` +
        `(${JSON.stringify(stdout.slice(0, 80))})`,
    );
  }
  if (
    typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) &&
    Object.keys(parsed).length === 0
  ) {
    throw new EnvironmentError(
      "not_deployed",
      `Cannot read the ${env} stack outputs: the stack "${env}" has no outputs, so it has ` +
        `not been deployed; run "pulumi up -s ${env}"`,
    );
  }
  return validated(parsed, `"${shown}"`, env);
}

/**
 * One environment's outputs from a `KIRO_OUTPUTS_FILE` text: the file holds
 * one stack's outputs, or several under their environment's name
 * (`{"dev": {…}, "prod": {…}}`, for tasks that reach two environments such
 * as `promote --from-env dev --env prod`).
 */
function outputsFor(text: string, env: EnvironmentName): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text; // parseStackOutputs names the JSON error
  }
  if (typeof json !== "object" || json === null || "tableName" in json) return json;
  const byName = json as Record<string, unknown>;
  return ENVIRONMENT_NAMES.some((name) => name in byName) ? byName[env] ?? {} : json;
}

function validated(json: unknown, source: string, env: EnvironmentName): StackOutputs {
  try {
    return parseStackOutputs(json, { source, environment: env });
  } catch (error) {
    if (error instanceof StackOutputsError) {
      throw new EnvironmentError("invalid_outputs", error.message);
    }
    throw error;
  }
}

/** A resolved environment. */
export interface ResolvedEnvironment {
  name: EnvironmentName;
  outputs: StackOutputs;
  /** Stops what resolving started (the local stand-ins); a no-op otherwise. */
  close(): Promise<void>;
}

/** How {@linkcode resolveEnvironment} works. */
export interface ResolveOptions extends ReadStackOutputsOptions {
  /** The local state folder (default `$KIRO_LOCAL_DIR` or `.local/`). */
  localDir?: string;
  /** The ports of stand-ins started for the task (default `localPorts()`). */
  localPorts?: { dynamodb: number; s3: number };
  /** Progress messages (default: to stderr). */
  log?: (message: string) => void;
}

/**
 * Resolves the environment named by `flags` ({@linkcode environmentName}) to
 * its outputs. For `local` it uses the running `deno task dev` or starts the
 * stand-ins (stopped by `close()`).
 */
export async function resolveEnvironment(
  flags: EnvironmentFlags,
  options: ResolveOptions = {},
): Promise<ResolvedEnvironment> {
  const name = environmentName(flags, options);
  const log = options.log ?? ((message: string) => console.error(message));
  if (name !== "local") {
    return { name, outputs: await readStackOutputs(name, options), close: () => Promise.resolve() };
  }
  const dir = options.localDir ?? localStateDir();
  const running = await runningLocalStack(dir);
  if (running !== undefined) {
    log(`Using the running local stack (deno task dev) at ${running.repoUrl}`);
    return { name, outputs: running, close: () => Promise.resolve() };
  }
  log(`Starting the local stack (${join(dir, "")}) for this task`);
  const stack = await startLocalStack({
    dir,
    ...(options.localPorts !== undefined ? { ports: options.localPorts } : {}),
  });
  return { name, outputs: stack.outputs, close: () => stack.close() };
}

/**
 * Runs `fn` with the resolved environment and closes it afterwards.
 *
 * @example
 * ```ts
 * return await withEnvironment({ env: cli.values.env }, async (outputs) => { … });
 * ```
 */
export async function withEnvironment<T>(
  flags: EnvironmentFlags,
  fn: (outputs: StackOutputs, name: EnvironmentName) => Promise<T>,
  options: ResolveOptions = {},
): Promise<T> {
  const resolved = await resolveEnvironment(flags, options);
  try {
    return await fn(resolved.outputs, resolved.name);
  } finally {
    await resolved.close();
  }
}

/**
 * The exit code of a task that failed in an expected way, after printing the
 * error's message to stderr: 2 for a {@linkcode UsageError} (prefixed by the
 * task's name), 1 for an {@linkcode EnvironmentError} or an instance of one of
 * `options.failures` (the task's own error classes). Anything else is rethrown.
 *
 * @example
 * ```ts
 * } catch (error) {
 *   return taskFailureCode(error, "keygen", { failures: [KeygenError] });
 * }
 * ```
 */
export function taskFailureCode(
  error: unknown,
  task: string,
  options: {
    failures?: readonly (abstract new (...args: never[]) => Error)[];
    /** Print failures as `task: message` too (usage errors always are). */
    prefix?: boolean;
  } = {},
): 1 | 2 {
  if (error instanceof UsageError) {
    console.error(`${task}: ${error.message}`);
    return 2;
  }
  const failures = [EnvironmentError, ...(options.failures ?? [])];
  if (failures.some((failure) => error instanceof failure)) {
    const message = (error as Error).message;
    console.error(options.prefix === true ? `${task}: ${message}` : message);
    return 1;
  }
  throw error;
}
