/**
 * The migration tasks end to end against a local stack: `deno task
 * seed-legacy`, `migrate --dry-run`, the real `migrate`, `restore`, then a
 * force rebuild publishing the migrated versions — checked in the published
 * `Packages` and, where apt-get and root are available, by apt itself.
 *
 * The tasks run as subprocesses (as an operator runs them) against a stack
 * this test starts and records as the running local stack of a temp folder.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { awsClients } from "../../lambda/aws/clients.ts";
import { encodeItem } from "../../tasks/migration/attribute_value.ts";
import { readBackup } from "../../tasks/migration/backup.ts";
import { scanAll } from "../../tasks/migration/table_ops.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { rebuildDependencies } from "../../lambda/dependencies.ts";
import { startLocalStack, writeStackRecord } from "../../tasks/lib/local_stack.ts";
import { aptDownload, describeRun } from "../../tasks/lib/apt_client.ts";
import { missingTools } from "../support/tools.ts";
import { taskProcess, type TaskRun } from "../support/task_output.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function runTask(dir: string, script: string, args: string[]): Promise<TaskRun> {
  return taskProcess(script, args, { env: { KIRO_LOCAL_DIR: dir }, cwd: dir });
}

function described(run: TaskRun): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

function parseStanzas(text: string): Record<string, string>[] {
  return text.trim().split(/\n\n+/).filter((s) => s !== "").map((stanza) => {
    const fields: Record<string, string> = {};
    for (const line of stanza.split("\n")) {
      const match = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
      if (match) fields[match[1] as string] = match[2] as string;
    }
    return fields;
  });
}

Deno.test({
  name:
    "seed-legacy, migrate --dry-run, migrate, restore and a rebuild publish the legacy versions",
  // KIRO_ENV from the caller's shell must not redirect the tasks.
  ignore: Deno.env.get("KIRO_ENV") !== undefined && Deno.env.get("KIRO_ENV") !== "local",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kiro-migrate-task-" });
    const stack = await startLocalStack({ dir, persist: false, ports: { dynamodb: 0, s3: 0 } });
    const clients = awsClients(stack.outputs);
    try {
      await writeStackRecord(stack);
      const configDir = `${ROOT}config/packages`;
      const { outputs } = stack;
      const snapshot = async (table: string) =>
        (await scanAll(clients.dynamoRaw, table)).map((item) => JSON.stringify(encodeItem(item)))
          .sort();

      // 1. Seed the legacy table (real .debs at the legacy pool paths).
      const seed = await runTask(dir, "tasks/seed_legacy.ts", [
        "--env",
        "local",
        "--count",
        "6",
        "--config-dir",
        configDir,
      ]);
      assert.equal(seed.code, 0, described(seed));
      const legacy = await snapshot(outputs.legacyTableName);
      assert.equal(legacy.length, 6);

      // 2. The dry run prints counts and samples and writes nothing anywhere.
      const dry = await runTask(dir, "tasks/migrate.ts", [
        "--env",
        "local",
        "--dry-run",
        "--config-dir",
        configDir,
      ]);
      assert.equal(dry.code, 0, described(dry));
      assert.match(dry.stdout, /Total items: 6\n\s+Would migrate: 6/);
      assert.match(dry.stdout, /Sample transformation 1 \(kiro#0\.1\.0\):/);
      assert.match(dry.stdout, /DRY RUN/);
      assert.deepEqual(await snapshot(outputs.legacyTableName), legacy);
      assert.deepEqual(await snapshot(outputs.tableName), []);
      assert.equal(existsSync(`${dir}/backups`), false);

      // --dry-run with --backup-file is a usage error.
      const both = await runTask(dir, "tasks/migrate.ts", [
        "--env",
        "local",
        "--dry-run",
        "--backup-file",
        "x.jsonl",
      ]);
      assert.equal(both.code, 2, described(both));
      assert.match(both.stderr, /writes nothing, not even a backup/);

      // 3. The real run: default backup name, complete and verified.
      const real = await runTask(dir, "tasks/migrate.ts", [
        "--env",
        "local",
        "--config-dir",
        configDir,
      ]);
      assert.equal(real.code, 0, described(real));
      assert.match(real.stdout, /Migrated: 6/);
      assert.match(real.stdout, /Verified: 6 of 6/);
      const backups = [...Deno.readDirSync(`${dir}/backups`)].map((entry) => entry.name);
      assert.equal(backups.length, 1);
      assert.match(backups[0] as string, /^legacy-local-\d{8}T\d{6}Z\.jsonl$/);
      const backup = await readBackup(`${dir}/backups/${backups[0]}`);
      assert.equal(backup.items.length, 6);
      const migrated = await scanAll(clients.dynamoRaw, outputs.tableName);
      assert.equal(migrated.length, 6);
      // Each record carries its own .deb's control paragraph (read from the pool).
      for (const item of migrated) {
        assert.match(item.control?.M?.["Installed-Size"]?.S ?? "", /^\d+$/);
        assert.equal(item.control?.M?.Version?.S, item.version?.S);
      }

      // Running it again migrates nothing and is still complete.
      const again = await runTask(dir, "tasks/migrate.ts", [
        "--env",
        "local",
        "--config-dir",
        configDir,
        "--backup-file",
        `${dir}/again.jsonl`,
        "--drop-legacy",
      ]);
      assert.equal(again.code, 0, described(again));
      assert.match(again.stdout, /Migrated: 0\n\s+Skipped \(already migrated\): 6/);
      assert.match(again.stdout, /Legacy items deleted: 6/);
      assert.deepEqual(await snapshot(outputs.legacyTableName), []);

      // 4. Restore puts the legacy table back exactly.
      const restore = await runTask(dir, "tasks/restore.ts", [
        "--env",
        "local",
        "--backup-file",
        `${dir}/backups/${backups[0]}`,
        "--into",
        "legacy",
      ]);
      assert.equal(restore.code, 0, described(restore));
      assert.match(restore.stdout, /Restored: 6/);
      assert.deepEqual(await snapshot(outputs.legacyTableName), legacy);

      // A malformed backup is refused with nothing written.
      await Deno.writeTextFile(`${dir}/bad.jsonl`, '{"Backup":{}}\n');
      const bad = await runTask(dir, "tasks/restore.ts", [
        "--env",
        "local",
        "--backup-file",
        `${dir}/bad.jsonl`,
        "--into",
        "new",
      ]);
      assert.equal(bad.code, 1, described(bad));
      assert.match(bad.stderr, /bad\.jsonl is malformed at line 1/);

      // 5. A force rebuild publishes the migrated versions from the table alone.
      if (existsSync(`${ROOT}tasks/rebuild.ts`)) {
        const rebuild = await runTask(dir, "tasks/rebuild.ts", ["local"]);
        assert.equal(rebuild.code, 0, described(rebuild));
      } else {
        // Until the publish helper's task lands: the same engine, in-process.
        const result = await forceRebuild(rebuildDependencies(outputs, clients));
        assert.ok(result.packages >= 6, JSON.stringify(result));
      }
      const packagesUrl = `${outputs.repoUrl}/dists/stable/main/binary-amd64/Packages`;
      const response = await fetch(packagesUrl);
      assert.equal(response.status, 200);
      const stanzas = parseStanzas(await response.text()).filter((s) => s.Package === "kiro");
      assert.deepEqual(
        stanzas.map((s) => s.Version).sort(),
        ["0.1.0", "0.1.15", "0.1.25", "0.1.42", "0.1.6", "0.2.13"],
      );
      for (const stanza of stanzas) {
        assert.equal(
          stanza.Filename,
          `pool/main/k/kiro/kiro-ide-${stanza.Version}-stable-linux-x64.deb`,
        );
        const deb = new Uint8Array(
          await (await fetch(`${outputs.repoUrl}/${stanza.Filename}`)).arrayBuffer(),
        );
        assert.equal(String(deb.byteLength), stanza.Size);
        assert.equal(createHash("sha256").update(deb).digest("hex"), stanza.SHA256);
      }

      // 6. apt itself sees and downloads a migrated version (needs apt-get and root).
      if (!missingTools(["apt-get"], { root: true })) {
        const keyring = new Uint8Array(
          await (await fetch(`${outputs.repoUrl}/kiro-archive-keyring.pgp`)).arrayBuffer(),
        );
        const apt = await aptDownload(
          { repoUrl: outputs.repoUrl, keyring, architectures: ["amd64"] },
          ["kiro=0.2.13"],
        );
        assert.ok(apt.success, describeRun(apt));
        assert.equal(apt.files.length, 1);
      }
    } finally {
      clients.destroy();
      await stack.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
