/**
 * Every task with `--json`, run as a separate process against a test stack
 * recorded as the running local stack: stdout is exactly one JSON document,
 * whatever the task logs on the way (README, "Machine-readable output").
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeStackRecord } from "../../tasks/lib/local_stack.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { startTestStack } from "../support/stack.ts";
import { taskProcess, type TaskRun } from "../support/task_output.ts";

const runTask = (script: string, args: string[], env: Record<string, string>) =>
  taskProcess(`tasks/${script}.ts`, args, { env });

/** The one JSON document stdout holds (fails when there is anything else). */
function document(run: TaskRun, task: string): unknown {
  try {
    return JSON.parse(run.stdout);
  } catch (error) {
    throw new Error(
      `${task} --json printed more than one JSON document (${error}):\n${run.stdout}\n` +
        `stderr:\n${run.stderr}`,
    );
  }
}

Deno.test("every task's --json prints exactly one JSON document on stdout", async () => {
  const stack = await startTestStack();
  const work = await Deno.makeTempDir({ prefix: "kiro-json-tasks-" });
  try {
    await writeStackRecord({ outputs: stack.outputs, dir: stack.dir, close: () => stack.close() });
    const env = { KIRO_LOCAL_DIR: stack.dir, LOG_LEVEL: "INFO" };
    const run = async (script: string, args: string[], expectedCode = 0) => {
      const result = await runTask(script, [...args, "--json"], env);
      assert.equal(
        result.code,
        expectedCode,
        `${script} ${args.join(" ")}: exit ${result.code}\n${result.stderr}`,
      );
      return document(result, script);
    };

    const deb = join(work, "kiro-cli_1.2.0_amd64.deb");
    await Deno.writeFile(
      deb,
      await makeTestDeb({ name: "kiro-cli", version: "1.2.0", architecture: "amd64" }),
    );
    const added = await run("add_deb", ["local", deb]) as {
      added: { package_name: string; outcome: string }[];
      published: boolean;
    };
    assert.deepEqual(added.added.map((a) => `${a.package_name} ${a.outcome}`), [
      "kiro-cli created",
    ]);
    assert.equal(added.published, true);

    const listed = await run("list", ["local"]) as { package_name: string }[];
    assert.deepEqual(listed.map((r) => r.package_name), ["kiro-cli"]);

    const withdrawn = await run("withdraw", ["kiro-cli", "1.2.0", "local", "--reason", "test"]);
    assert.ok(Array.isArray(withdrawn));
    assert.ok(Array.isArray(await run("reinstate", ["kiro-cli", "1.2.0", "local"])));
    assert.ok(Array.isArray(await run("promote", ["kiro-cli", "1.2.0", "local", "--to", "beta"])));

    const history = await run("history", ["local"]) as { generation: number }[];
    assert.ok(history.length > 0);
    const rolled = await run("rollback", [
      "local",
      "--to",
      String(history[0]?.generation),
      "--dry-run",
    ]);
    assert.equal(typeof rolled, "object");
    assert.equal(typeof await run("prune_pool", ["local", "--dry-run"]), "object");
    assert.equal(typeof await run("rebuild", ["local"]), "object");
    assert.equal(typeof await run("verify", ["local"]), "object");

    const configs = join(work, "configs");
    await Deno.mkdir(configs);
    await Deno.copyFile("config/packages/kiro-repo.yaml", join(configs, "kiro-repo.yaml"));
    const synced = await run("sync", ["local", "--config-dir", configs]) as {
      new_packages: unknown[];
      failures: unknown[];
    };
    assert.deepEqual(synced.failures, []);

    const built = await run("build_kiro_repo", ["local", "--dry-run"]) as { dry_run: boolean };
    assert.equal(built.dry_run, true);

    const keys = await run("keygen", ["local", "--rotate"]) as {
      keys: { fingerprint: string }[];
    };
    assert.equal(keys.keys.length, 2);
    assert.doesNotMatch(JSON.stringify(keys), /PRIVATE KEY/);

    const seeded = await runTask("seed_legacy", ["local", "--count", "2"], env);
    assert.equal(seeded.code, 0, seeded.stderr);
    const dryRun = await run("migrate", ["local", "--dry-run"]) as { dryRun: boolean };
    assert.equal(dryRun.dryRun, true);
    const backup = join(work, "backup.jsonl");
    const migrated = await run("migrate", ["local", "--backup-file", backup]) as {
      complete: boolean;
    };
    assert.equal(migrated.complete, true);
    const restored = await run("restore", ["local", "--backup-file", backup]) as {
      total: number;
      skipped: number;
    };
    assert.equal(restored.skipped, restored.total);
  } finally {
    await stack.close();
    await Deno.remove(work, { recursive: true });
  }
});
