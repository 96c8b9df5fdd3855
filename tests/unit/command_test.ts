import assert from "node:assert/strict";
import { CommandFailedError, commandOutput, runCommand } from "../../tasks/lib/command.ts";

Deno.test("runCommand returns the exit status and both outputs, in the folder and environment given", async () => {
  const dir = await Deno.makeTempDir({ prefix: "run-command-" });
  try {
    const result = await runCommand(
      "sh",
      ["-c", 'pwd; printf "%s" "$KIRO_TEST_VALUE" >&2; read line || exit 3'],
      { cwd: dir, env: { KIRO_TEST_VALUE: "grüße" } },
    );
    assert.deepEqual(result, {
      success: false,
      code: 3,
      stdout: `${await Deno.realPath(dir)}\n`,
      stderr: "grüße",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("commandOutput gives stdout, or an error naming the command line, exit code and stderr", async () => {
  assert.equal(await commandOutput("sh", ["-c", "echo one; echo two"]), "one\ntwo\n");
  await assert.rejects(
    commandOutput("sh", ["-c", "echo partial; echo 'no such thing' >&2; exit 4"]),
    (error: unknown) =>
      error instanceof CommandFailedError &&
      error.message ===
        "sh -c echo partial; echo 'no such thing' >&2; exit 4 failed with exit code 4: no such thing" &&
      error.result.stdout === "partial\n",
  );
  await assert.rejects(runCommand("kiro-no-such-program", []), Deno.errors.NotFound);
});
