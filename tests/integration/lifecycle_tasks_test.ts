/**
 * `deno task withdraw`, `reinstate`, `list` and `add-deb` as an operator
 * meets them, against a test stack recorded as the running local stack
 * (`KIRO_LOCAL_DIR`): dry runs, spellings, `--arch`, refusals, running a
 * command twice, and what the published `Packages` then list. (What the real
 * apt-get sees is `tests/e2e/lifecycle_test.ts`.)
 *
 * The tasks run in this process through their `main(args)`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import type { S3ObjectStore } from "../../lambda/aws/object_store.ts";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import { main as addDebTask } from "../../tasks/add_deb.ts";
import { writeStackRecord } from "../../tasks/lib/local_stack.ts";
import { main as listTask } from "../../tasks/list.ts";
import { main as reinstateTask } from "../../tasks/reinstate.ts";
import { main as withdrawTask } from "../../tasks/withdraw.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { captured, type TaskMain, type TaskRun } from "../support/task_output.ts";

interface Environment {
  stack: TestStack;
  objects: S3ObjectStore;
  /** Writes a `.deb` and returns its path. */
  deb(name: string, version: string, architecture: string): Promise<string>;
  task(main: TaskMain, args: string[]): Promise<TaskRun>;
  /** `name version architecture status` of every record, sorted. */
  table(): Promise<string[]>;
  /** The live `Packages` of one architecture, as `name=version/arch` lines. */
  packages(architecture: string): Promise<string[]>;
  /** The live `dists/stable/Release` text. */
  release(): Promise<string>;
}

function shown(run: TaskRun): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

async function withEnvironment(fn: (env: Environment) => Promise<void>): Promise<void> {
  const stack = await startTestStack();
  const debs = await Deno.makeTempDir({ prefix: "kiro-lifecycle-tasks-" });
  const previousDir = Deno.env.get("KIRO_LOCAL_DIR");
  try {
    await writeStackRecord({ outputs: stack.outputs, dir: stack.dir, close: () => stack.close() });
    Deno.env.set("KIRO_LOCAL_DIR", stack.dir);
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const text = async (key: string) => {
      const bytes = await objects.get(key);
      assert.ok(bytes, `${key} is missing`);
      return new TextDecoder().decode(bytes);
    };
    await fn({
      stack,
      objects,
      async deb(name, version, architecture) {
        const path = join(debs, `${name}_${version}_${architecture}.deb`);
        await Deno.writeFile(
          path,
          await makeTestDeb({ name, version, architecture, payloadSize: 1024 }),
        );
        return path;
      },
      task: (main, args) => captured(() => main(args)),
      async table() {
        return (await stack.store.listAll())
          .map((r: PackageRecord) => `${r.package_name} ${r.version} ${r.architecture} ${r.status}`)
          .sort();
      },
      async packages(architecture) {
        const body = await text(`dists/stable/main/binary-${architecture}/Packages`);
        return body.split(/\n\n+/).filter((stanza) => stanza.trim() !== "").map((stanza) =>
          `${/^Package: (.+)$/m.exec(stanza)?.[1]}=${/^Version: (.+)$/m.exec(stanza)?.[1]}/${
            /^Architecture: (.+)$/m.exec(stanza)?.[1]
          }`
        ).sort();
      },
      release: () => text("dists/stable/Release"),
    });
  } finally {
    if (previousDir === undefined) Deno.env.delete("KIRO_LOCAL_DIR");
    else Deno.env.set("KIRO_LOCAL_DIR", previousDir);
    await Deno.remove(debs, { recursive: true });
    await stack.close();
  }
}

/** Adds kiro-cli 1.2.0 for amd64 and arm64 and publishes. */
async function twoArchitectures(env: Environment): Promise<void> {
  const added = await env.task(addDebTask, [
    await env.deb("kiro-cli", "1.2.0", "amd64"),
    await env.deb("kiro-cli", "1.2.0", "arm64"),
    "--env",
    "local",
  ]);
  assert.equal(added.code, 0, shown(added));
}

Deno.test("withdraw --dry-run says what it would withdraw and changes nothing", async () => {
  await withEnvironment(async (env) => {
    await twoArchitectures(env);
    const table = await env.table();
    const release = await env.release();
    const dry = await env.task(withdrawTask, [
      "kiro-cli",
      "1.2.0",
      "--reason",
      "bad build",
      "--dry-run",
      "--env",
      "local",
    ]);
    assert.equal(dry.code, 0, shown(dry));
    assert.match(
      dry.stderr,
      /Would have withdrawn in local: kiro-cli 1\.2\.0 \(amd64\), kiro-cli 1\.2\.0 \(arm64\) \(dry run: nothing changed\)/,
    );
    assert.deepEqual(await env.table(), table);
    assert.equal(await env.release(), release, "a dry run published");
  });
});

Deno.test("withdraw and reinstate find a version by any spelling dpkg holds equal, and --arch picks one architecture", async () => {
  await withEnvironment(async (env) => {
    await twoArchitectures(env);
    const withdrawn = await env.task(withdrawTask, [
      "kiro-cli",
      "1.2.0-0",
      "--arch",
      "arm64",
      "--reason",
      "bad build",
      "--env",
      "local",
    ]);
    assert.equal(withdrawn.code, 0, shown(withdrawn));
    assert.deepEqual(await env.table(), [
      "kiro-cli 1.2.0 amd64 published",
      "kiro-cli 1.2.0 arm64 withdrawn",
    ]);
    assert.deepEqual(await env.packages("amd64"), ["kiro-cli=1.2.0/amd64"]);
    assert.deepEqual(await env.packages("arm64"), []);

    const reinstated = await env.task(reinstateTask, ["kiro-cli", "0:1.2.0", "--env", "local"]);
    assert.equal(reinstated.code, 0, shown(reinstated));
    assert.match(reinstated.stderr, /kiro-cli 1\.2\.0 \(amd64\) is already published/);
    assert.match(reinstated.stderr, /One identity reinstated in local: kiro-cli 1\.2\.0 \(arm64\)/);
    assert.deepEqual(await env.table(), [
      "kiro-cli 1.2.0 amd64 published",
      "kiro-cli 1.2.0 arm64 published",
    ]);
    assert.deepEqual(await env.packages("arm64"), ["kiro-cli=1.2.0/arm64"]);
  });
});

Deno.test("withdraw refuses without a reason, and a version or architecture that is not recorded, changing nothing", async () => {
  await withEnvironment(async (env) => {
    await twoArchitectures(env);
    const table = await env.table();
    const release = await env.release();

    const noReason = await env.task(withdrawTask, ["kiro-cli", "1.2.0", "--env", "local"]);
    assert.equal(noReason.code, 2, shown(noReason));
    assert.match(noReason.stderr, /Give --reason TEXT/);

    const unknown = await env.task(withdrawTask, [
      "kiro-cli",
      "9.9",
      "--reason",
      "x",
      "--env",
      "local",
    ]);
    assert.equal(unknown.code, 1, shown(unknown));
    assert.match(unknown.stderr, /Cannot withdraw kiro-cli 9\.9: it is not recorded/);

    const otherArch = await env.task(withdrawTask, [
      "kiro-cli",
      "1.2.0",
      "--arch",
      "riscv64",
      "--reason",
      "x",
      "--env",
      "local",
    ]);
    assert.equal(otherArch.code, 1, shown(otherArch));
    assert.match(otherArch.stderr, /it is recorded for amd64, arm64/);

    assert.deepEqual(await env.table(), table);
    assert.equal(await env.release(), release);
  });
});

Deno.test("withdrawing twice leaves the second run nothing to change or publish", async () => {
  await withEnvironment(async (env) => {
    await twoArchitectures(env);
    const args = ["kiro-cli", "1.2.0", "--reason", "bad build", "--env", "local"];
    const first = await env.task(withdrawTask, args);
    assert.equal(first.code, 0, shown(first));
    const record = await env.stack.store.get({
      package_name: "kiro-cli",
      version: "1.2.0",
      architecture: "amd64",
    });
    const release = await env.release();

    const second = await env.task(withdrawTask, [...args.slice(0, 3), "another reason"]);
    assert.equal(second.code, 0, shown(second));
    assert.match(second.stderr, /kiro-cli 1\.2\.0 \(amd64\) is already withdrawn/);
    assert.match(second.stderr, /nothing to publish/);
    assert.equal(await env.release(), release, "the second run published");
    const again = await env.stack.store.get(record!);
    assert.equal(again?.withdraw_reason, "bad build", "the first withdrawal's reason was replaced");
    assert.equal(again?.withdrawn_at, record?.withdrawn_at);
  });
});

Deno.test("adding a withdrawn file again keeps it withdrawn and says how to reinstate it", async () => {
  await withEnvironment(async (env) => {
    const path = await env.deb("kiro", "1.0", "amd64");
    assert.equal((await env.task(addDebTask, [path, "--env", "local"])).code, 0);
    const withdrawn = await env.task(withdrawTask, [
      "kiro",
      "1.0",
      "--reason",
      "crashes",
      "--env",
      "local",
    ]);
    assert.equal(withdrawn.code, 0, shown(withdrawn));

    const again = await env.task(addDebTask, [path, "--env", "local"]);
    assert.equal(again.code, 0, shown(again));
    assert.match(
      again.stderr,
      /already recorded with the same bytes and withdrawn \(crashes\): run deno task reinstate kiro 1\.0 --arch amd64/,
    );
    assert.deepEqual(await env.table(), ["kiro 1.0 amd64 withdrawn"]);
    assert.deepEqual(await env.packages("amd64"), []);
  });
});

Deno.test("reinstate refuses when the pool object no longer holds the recorded bytes, and changes nothing", async () => {
  await withEnvironment(async (env) => {
    const path = await env.deb("kiro", "1.0", "amd64");
    assert.equal((await env.task(addDebTask, [path, "--env", "local"])).code, 0);
    assert.equal(
      (await env.task(withdrawTask, ["kiro", "1.0", "--reason", "x", "--env", "local"])).code,
      0,
    );
    const record =
      (await env.stack.store.versionRecords({ package_name: "kiro", version: "1.0" }))[0]!;
    await env.objects.delete(record.pool_key);
    const release = await env.release();

    const refused = await env.task(reinstateTask, ["kiro", "1.0", "--env", "local"]);
    assert.equal(refused.code, 1, shown(refused));
    assert.match(
      refused.stderr,
      /its pool object pool\/main\/k\/kiro\/kiro_1\.0_amd64\.deb is gone/,
    );
    assert.match(refused.stderr, /nothing was changed/);
    assert.deepEqual(await env.table(), ["kiro 1.0 amd64 withdrawn"]);
    assert.equal(await env.release(), release);
  });
});

Deno.test("list shows published identities, withdrawn ones only with --all, and filters by name", async () => {
  await withEnvironment(async (env) => {
    await twoArchitectures(env);
    assert.equal(
      (await env.task(addDebTask, [await env.deb("kiro", "1.0", "amd64"), "--env", "local"])).code,
      0,
    );
    assert.equal(
      (await env.task(withdrawTask, ["kiro", "1.0", "--reason", "crashes", "--env", "local"]))
        .code,
      0,
    );

    const published = await env.task(listTask, ["local"]);
    assert.equal(published.code, 0, shown(published));
    assert.match(published.stdout, /^NAME +VERSION +ARCH +STATUS/);
    assert.match(published.stdout, /kiro-cli +1\.2\.0 +amd64 +published +stable /);
    assert.match(published.stdout, /kiro-cli +1\.2\.0 +arm64 +published/);
    assert.doesNotMatch(published.stdout, /^kiro +1\.0/m);

    const all = await env.task(listTask, ["kiro", "local", "--all"]);
    assert.equal(all.code, 0, shown(all));
    assert.match(all.stdout, /^kiro +1\.0 +amd64 +withdrawn/m);
    assert.match(all.stdout, /withdrawn \S+ by \S+: crashes/);
    assert.doesNotMatch(all.stdout, /kiro-cli/);

    const none = await env.task(listTask, ["kiro", "--env", "local"]);
    assert.equal(none.code, 0, shown(none));
    assert.match(none.stdout, /No identity of kiro in any index \(--all shows the others\)/);
  });
});
