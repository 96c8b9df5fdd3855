/**
 * Every task's `--help`, run as the operator runs it: one grammar (README,
 * "Command grammar").
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { taskProcess } from "../support/task_output.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const denoJson = JSON.parse(await Deno.readTextFile(join(root, "deno.json"))) as {
  tasks: Record<string, string>;
};
const NOT_OPERATOR_TASKS = ["test", "check", "lint", "fmt", "ok"];

/** Every operator task and its script. */
export const TASKS: [string, string][] = Object.entries(denoJson.tasks)
  .filter(([name]) => !NOT_OPERATOR_TASKS.includes(name))
  .map(([name, command]) => [name, command.replace(/^deno run --allow-all /, "")]);

const runTask = (script: string, args: string[]) => taskProcess(script, args);

function section(help: string, title: string): string[] {
  const start = help.indexOf(`\n${title}:\n`);
  if (start < 0) return [];
  const rest = help.slice(start + title.length + 3);
  const end = rest.indexOf("\n\n");
  return (end < 0 ? rest : rest.slice(0, end)).split("\n").filter((line) => line.trim() !== "");
}

Deno.test("the list of tasks covers every entry point", () => {
  assert.ok(TASKS.length >= 23, `only ${TASKS.length} tasks in deno.json`);
  assert.ok(TASKS.every(([, script]) => script.endsWith(".ts")));
});

for (const [name, script] of TASKS) {
  Deno.test(`deno task ${name} --help documents every flag with an example and says where it acts`, async () => {
    const { code, stdout, stderr } = await runTask(script, ["--help"]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`^Usage: deno task ${name} \\[OPTIONS\\]`));
    const examples = section(stdout, "Examples");
    assert.ok(examples.length > 0, `${name} --help has no examples`);
    const flags = section(stdout, "Options")
      .map((line) => /--([a-z0-9-]+)/.exec(line)?.[1])
      .filter((flag): flag is string => flag !== undefined && flag !== "help");
    for (const flag of flags) {
      assert.ok(
        examples.some((example) => new RegExp(`--${flag}(?![a-z0-9-])`).test(example)),
        `${name}: --${flag} has no example in --help`,
      );
    }
    for (const example of examples) {
      assert.ok(example.trim().startsWith(`deno task ${name}`), `${name}: example "${example}"`);
    }
    if (flags.includes("env")) {
      assert.match(stdout.split("\n")[0] ?? "", / \[ENV\]$/);
      assert.match(stdout, /\n {2}ENV +[a-z, ]+: the same as --env ENV\n/);
      assert.ok(
        examples.some((example) => / (local|dev|prod)( |$)/.test(example.replace(/--env \w+/, ""))),
        `${name}: no example gives the positional ENV`,
      );
    } else {
      assert.match(stdout, /\nEnvironment: none; this task takes no --env and no ENV argument\.\n/);
    }
  });

  Deno.test(`deno task ${name} reads a positional ENV exactly when it has --env`, async () => {
    const help = await runTask(script, ["--help"]);
    if (/--env ENV/.test(help.stdout)) {
      const { code, stderr } = await runTask(script, ["--env", "dev", "prod"]);
      assert.equal(code, 2, stderr);
      assert.match(stderr, /The environment is given twice: --env dev and prod; give it once/);
    } else {
      const { code, stderr } = await runTask(script, ["prod"]);
      assert.equal(code, 2, stderr);
      assert.match(
        stderr,
        new RegExp(`Unexpected argument "prod": ${name} acts on no environment`),
      );
    }
  });
}
