/**
 * `deno task preflight [ENV]`: what must pass before `pulumi up -s ENV`.
 *
 * 0. `changelog`: CHANGELOG.md's format, and a new entry whenever the code
 *    changed since the newest one's version (`tasks/releases/changelog.ts`)
 * 1. `fmt`: `deno fmt --check`
 * 2. `lint`: `deno lint`
 * 3. `check`: `deno check .` (type check)
 * 4. `test`: `deno test --allow-all --parallel` (the whole suite)
 * 5. `program`: the Pulumi program loaded with mocks for the stack's own
 *    config (`Pulumi.ENV.yaml`; both stacks without ENV), under the Node that
 *    Pulumi will run it with (`$KIRO_NODE22`, else `node`): it must be
 *    ≥ 22.18 (type stripping), bundle the Lambda, register its resources and
 *    export the outputs the tasks read — every name carrying the environment.
 *
 * Every step runs and reports; the exit code is 1 when any failed.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseStackOutputs } from "./lib/stack_outputs.ts";
import { ENV_OPTION, parseCommandLine } from "./lib/cli.ts";
import { type CommandResult, runCommand as runProgram } from "./lib/command.ts";
import { taskFailureCode } from "./lib/env.ts";
import { projectRoot } from "./lib/local_stack.ts";
import { checkChangelog } from "./releases/changelog.ts";

/** The steps, in order. */
export const PREFLIGHT_STEPS = ["changelog", "fmt", "lint", "check", "test", "program"] as const;
/** One step's name. */
export type PreflightStep = (typeof PREFLIGHT_STEPS)[number];

/** The oldest Node that runs the program (type stripping on by default). */
export const MIN_NODE_VERSION = [22, 18] as const;

/** The result of one step. */
export interface StepResult {
  step: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

/** Options of {@linkcode preflight}. */
export interface PreflightOptions {
  /** The steps to run (default: all). */
  steps?: readonly PreflightStep[];
  /** The project folder the commands run in (default: the repository root). */
  root?: string;
  /** The stack config file per stack (default `{root}/Pulumi.{stack}.yaml`). */
  configFiles?: Partial<Record<"dev" | "prod", string>>;
  /** The Node binary Pulumi will use (default `$KIRO_NODE22`, else `node`). */
  node?: string;
  /** Progress lines (default: none). */
  log?: (message: string) => void;
}

async function runCommand(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ ok: boolean; code: number; stdout: string; output: string }> {
  let result: CommandResult;
  try {
    result = await runProgram(command, args, { cwd, env });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { ok: false, code: 127, stdout: "", output: `${command} is not on the PATH` };
    }
    throw error;
  }
  return {
    ok: result.success,
    code: result.code,
    stdout: result.stdout,
    output: `${result.stdout}${result.stderr}`,
  };
}

function lastLines(text: string, count: number): string {
  // deno prints colours even when piped on some terminals: strip them.
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  return plain.trim().split("\n").filter((line) => line.trim() !== "").slice(-count).join("\n");
}

const DENO_STEPS: Record<Exclude<PreflightStep, "program" | "changelog">, string[]> = {
  fmt: ["fmt", "--check"],
  lint: ["lint"],
  check: ["check", "."],
  test: ["test", "--allow-all", "--parallel"],
};

/** The script Node runs for the `program` step: a dry run, a JSON summary on stdout. */
function dryRunScript(stack: string, configFile: string): string {
  const dryRun = pathToFileURL(fileURLToPath(new URL("../infra/dry_run.ts", import.meta.url))).href;
  const program = pathToFileURL(fileURLToPath(new URL("../infra/index.ts", import.meta.url))).href;
  return `import { runProgramWithMocks, stackConfigFromFile } from ${JSON.stringify(dryRun)};
const result = await runProgramWithMocks({
  project: "kiro-debian-repo-manager",
  stack: ${JSON.stringify(stack)},
  config: stackConfigFromFile(${JSON.stringify(configFile)}),
  load: () => import(${JSON.stringify(program)}),
});
const names = result.resources.filter((r) => r.custom).map((r) => ({
  type: r.type,
  name: r.inputs.name ?? r.inputs.bucket ?? r.inputs.comment,
}));
process.stdout.write(JSON.stringify({ node: process.versions.node, outputs: result.outputs, names }));
`;
}

async function programStep(
  stack: "dev" | "prod",
  options: { root: string; configFile: string; node: string },
): Promise<string> {
  const version = await runCommand(options.node, ["--version"], options.root);
  if (!version.ok) {
    throw new Error(
      `Cannot run ${options.node} (${version.output.trim()}): install Node >= ${
        MIN_NODE_VERSION.join(".")
      }, ` +
        "which Pulumi uses to run the program, or set KIRO_NODE22 to its path",
    );
  }
  const [major = 0, minor = 0] = version.output.trim().replace(/^v/, "").split(".").map(Number);
  if (
    major < MIN_NODE_VERSION[0] || (major === MIN_NODE_VERSION[0] && minor < MIN_NODE_VERSION[1])
  ) {
    throw new Error(
      `${options.node} is Node ${version.output.trim()}: the Pulumi program needs Node >= ` +
        `${
          MIN_NODE_VERSION.join(".")
        } (it runs TypeScript with type stripping); install a newer Node`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "kiro-preflight-" });
  try {
    const script = join(dir, `dry-run-${stack}.mjs`);
    await Deno.writeTextFile(script, dryRunScript(stack, options.configFile));
    const run = await runCommand(options.node, [script], options.root, { PULUMI_CONFIG: "" });
    if (!run.ok) {
      const reason = /(StackSettingsError|LambdaBundleError|Error): (.+)/.exec(run.output);
      throw new Error(
        `the program fails under Node with the ${stack} config: ${
          reason?.[2] ?? lastLines(run.output, 5)
        }`,
      );
    }
    const summary = JSON.parse(run.stdout) as {
      node: string;
      outputs: Record<string, unknown>;
      names: { type: string; name?: unknown }[];
    };
    const outputs = parseStackOutputs(summary.outputs, {
      source: `the ${stack} program's outputs`,
      environment: stack,
    });
    const unnamed = summary.names.filter((r) =>
      typeof r.name === "string" && !(r.name as string).endsWith(`-${stack}`)
    );
    if (unnamed.length > 0) {
      throw new Error(
        `resource names without the environment: ${
          unnamed.map((r) => `${r.type} ${r.name}`).join(", ")
        }`,
      );
    }
    return `Node ${summary.node}: ${summary.names.length} resources, outputs ${outputs.tableName}, ` +
      `${outputs.bucketName}, ${outputs.functionName}`;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the preflight steps for `stacks` and returns their results (never throws for a failed step). */
export async function preflight(
  stacks: readonly ("dev" | "prod")[],
  options: PreflightOptions = {},
): Promise<StepResult[]> {
  const root = options.root ?? projectRoot();
  const steps = options.steps ?? PREFLIGHT_STEPS;
  const node = options.node ?? (Deno.env.get("KIRO_NODE22") || "node");
  const results: StepResult[] = [];
  const record = (result: StepResult) => {
    results.push(result);
    options.log?.(
      `${result.ok ? "ok  " : "FAIL"}  ${result.step} (${
        result.seconds.toFixed(1)
      } s): ${result.detail}`,
    );
  };
  for (const step of PREFLIGHT_STEPS.filter((s) => steps.includes(s))) {
    if (step === "changelog") {
      const started = performance.now();
      const { ok, detail } = await checkChangelog(root);
      record({ step, ok, detail, seconds: (performance.now() - started) / 1000 });
      continue;
    }
    if (step === "program") {
      for (const stack of stacks) {
        const started = performance.now();
        options.log?.(`…     program (${stack}): dry run under ${node}`);
        try {
          const detail = await programStep(stack, {
            root,
            node,
            configFile: options.configFiles?.[stack] ?? join(root, `Pulumi.${stack}.yaml`),
          });
          record({
            step: `program (${stack})`,
            ok: true,
            detail,
            seconds: (performance.now() - started) / 1000,
          });
        } catch (error) {
          record({
            step: `program (${stack})`,
            ok: false,
            detail: error instanceof Error ? error.message : String(error),
            seconds: (performance.now() - started) / 1000,
          });
        }
      }
      continue;
    }
    const started = performance.now();
    const args = DENO_STEPS[step];
    options.log?.(`…     ${step}: deno ${args.join(" ")}`);
    const run = await runCommand(Deno.execPath(), args, root, { NO_COLOR: "1" });
    record({
      step,
      ok: run.ok,
      detail: run.ok
        ? lastLines(run.output, 1) || "passed"
        : `deno ${args.join(" ")} failed:\n${lastLines(run.output, 15)}`,
      seconds: (performance.now() - started) / 1000,
    });
  }
  return results;
}

/** Runs the task; returns the exit code (1 when a step failed). */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "preflight",
    summary: "Check everything before pulumi up: format, lint, types, tests, and the program",
    description:
      "Runs deno fmt --check, deno lint, deno check, the whole test suite, and the Pulumi\n" +
      "program with mocks for the stack's own Pulumi.ENV.yaml under the Node Pulumi will use\n" +
      "($KIRO_NODE22, else node; >= 22.18). Without ENV the program step checks dev and prod.\n" +
      "Every step runs; exits 1 when any failed.",
    options: {
      env: {
        ...ENV_OPTION,
        choices: ["dev", "prod"],
        description: "the stack whose program is checked: dev or prod (default both)",
      },
      skip: {
        type: "string",
        list: true,
        choices: PREFLIGHT_STEPS,
        valueName: "STEPS",
        description: "skip these steps",
      },
      only: {
        type: "string",
        list: true,
        choices: PREFLIGHT_STEPS,
        valueName: "STEPS",
        description: "run only these steps",
      },
    },
    examples: [
      "deno task preflight prod",
      "deno task preflight dev --skip test,lint",
      "deno task preflight --env dev --only program",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  try {
    const env = cli.values.env as "dev" | "prod" | undefined;
    const chosen = (cli.values.only.length > 0 ? cli.values.only : PREFLIGHT_STEPS)
      .filter((step) => !cli.values.skip.includes(step)) as PreflightStep[];
    const stacks: ("dev" | "prod")[] = env === undefined ? ["dev", "prod"] : [env];
    const results = await preflight(stacks, { steps: chosen, log: (line) => console.error(line) });
    const failed = results.filter((r) => !r.ok);
    console.error(
      failed.length === 0
        ? `Preflight passed (${results.map((r) => r.step).join(", ")}); next: pulumi up -s ${
          env ?? "ENV"
        }`
        : `Preflight failed: ${failed.map((r) => r.step).join(", ")}`,
    );
    return failed.length === 0 ? 0 : 1;
  } catch (error) {
    return taskFailureCode(error, "preflight");
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
