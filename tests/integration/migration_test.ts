import assert from "node:assert/strict";
import { DeleteTableCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { TestStack } from "../support/stack.ts";
import {
  encodeItem,
  type Item,
  itemFingerprint,
  itemSize,
} from "../../tasks/migration/attribute_value.ts";
import { readBackup, writeBackup } from "../../tasks/migration/backup.ts";
import { MigrationError } from "../../tasks/migration/errors.ts";
import { legacyItem } from "../../tasks/migration/legacy_table.ts";
import { seedLegacyTable } from "../../tasks/migration/legacy_seed.ts";
import { loadLegacyDefaults, poolChecker } from "../../tasks/migration/wiring.ts";
import { MemoryObjectStore } from "../support/memory_object_store.ts";
import { poolControlReader } from "../../tasks/migration/pool_control.ts";
import { buildDeb } from "../../tasks/lib/deb_writer.ts";
import { migrateLegacyTable, verifyMigration } from "../../tasks/migration/migrate.ts";
import { formatMigrationSummary } from "../../tasks/migration/report.ts";
import { restoreBackup } from "../../tasks/migration/restore.ts";
import { batchDelete, describeTableKey, scanAll } from "../../tasks/migration/table_ops.ts";
import { transformAndValidate } from "../../tasks/migration/transform.ts";
import { KIRO_LEGACY_DEFAULTS } from "../support/migration_fixtures.ts";
import { putLegacy, withLegacyStack } from "../support/legacy_stack.ts";

const defaults = KIRO_LEGACY_DEFAULTS;

function hex(n: number, length: number): string {
  return n.toString(16).padStart(length, "0").slice(-length);
}

function kiro(version: string, n: number): Item {
  return legacyItem({
    version,
    pubDate: `2025-0${1 + (n % 9)}-1${n % 10}T10:00:00Z`,
    processedTimestamp: `2025-0${1 + (n % 9)}-1${n % 10}T10:05:00.000000`,
    debUrl:
      `https://prod.download.desktop.kiro.dev/releases/${version}/kiro-ide-${version}-stable-linux-x64.deb`,
    actualFilename: `kiro-ide-${version}-stable-linux-x64.deb`,
    size: 100_000_000 + n,
    md5: hex(n, 32),
    sha1: hex(n + 1, 40),
    sha256: hex(n + 2, 64),
    notes: `Release ${version}`,
  });
}

const ITEMS = [kiro("0.1.0", 1), kiro("0.2.13", 2), kiro("1.0.337", 3)];

function tables(stack: TestStack) {
  return { sourceTable: stack.outputs.legacyTableName, targetTable: stack.outputs.tableName };
}

async function snapshot(stack: TestStack, table: string): Promise<string[]> {
  return (await scanAll(stack.clients.dynamoRaw, table)).map((item) =>
    JSON.stringify(encodeItem(item))
  ).sort();
}

async function rejectsWith(
  promise: Promise<unknown>,
  kind: MigrationError["kind"],
  text: string,
): Promise<MigrationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MigrationError, `expected a MigrationError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    assert.ok(error.message.includes(text), error.message);
    return error;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

Deno.test("a migration copies every legacy item, verifies it and keeps a backup", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    const backupFile = `${dir}/backup.jsonl`;
    const summary = await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...tables(stack),
      defaults,
      backupFile,
      environment: "local",
    });
    assert.equal(summary.total, 3);
    assert.equal(summary.migrated, 3);
    assert.equal(summary.skipped, 0);
    assert.deepEqual(summary.conflicts, []);
    assert.equal(summary.complete, true);
    assert.equal(summary.verification?.verified, 3);
    const stored = (await scanAll(stack.clients.dynamoRaw, stack.outputs.tableName)).map(
      itemFingerprint,
    ).sort();
    const expected = ITEMS.map((item) => itemFingerprint(transformAndValidate(item, { defaults })))
      .sort();
    assert.deepEqual(stored, expected);
    const backup = await readBackup(backupFile);
    assert.equal(backup.header.table, stack.outputs.legacyTableName);
    assert.equal(backup.header.environment, "local");
    assert.deepEqual(backup.items.map(itemFingerprint).sort(), ITEMS.map(itemFingerprint).sort());
    // The records are readable through the package store as PackageRecords.
    const record = await stack.store.get({
      package_name: "kiro",
      version: "1.0.337",
      architecture: "amd64",
    });
    assert.equal(record?.file_size, 100_000_003);
    assert.equal(record?.pool_key, "pool/main/k/kiro/kiro-ide-1.0.337-stable-linux-x64.deb");
    assert.equal(record?.control.Package, "kiro");
    // Legacy items are left alone without --drop-legacy.
    assert.equal((await snapshot(stack, stack.outputs.legacyTableName)).length, 3);
  });
});

Deno.test("a dry run leaves both tables byte for byte unchanged and writes no file", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    await stack.clients.dynamoRaw.send(
      new PutItemCommand({
        TableName: stack.outputs.tableName,
        Item: transformAndValidate(ITEMS[0] as Item, { defaults }),
      }),
    );
    const before = [
      await snapshot(stack, stack.outputs.legacyTableName),
      await snapshot(stack, stack.outputs.tableName),
    ];
    const cwd = Deno.cwd();
    Deno.chdir(dir);
    let summary;
    try {
      summary = await migrateLegacyTable(stack.clients.dynamoRaw, {
        ...tables(stack),
        defaults,
        dryRun: true,
      });
    } finally {
      Deno.chdir(cwd);
    }
    assert.equal(summary.total, 3);
    assert.equal(summary.migrated, 2);
    assert.equal(summary.skipped, 1);
    assert.equal(summary.samples.length, 3);
    assert.equal(summary.samples[0]?.after.package_id?.S?.startsWith("kiro#"), true);
    const after = [
      await snapshot(stack, stack.outputs.legacyTableName),
      await snapshot(stack, stack.outputs.tableName),
    ];
    assert.deepEqual(after, before);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("an item already migrated with other contents is reported as a conflict, not overwritten", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    const other = {
      ...transformAndValidate(ITEMS[1] as Item, { defaults }),
      section: { S: "devel" },
      sha256_hash: { S: "f".repeat(64) },
    };
    await stack.clients.dynamoRaw.send(
      new PutItemCommand({ TableName: stack.outputs.tableName, Item: other }),
    );
    const summary = await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...tables(stack),
      defaults,
      backupFile: `${dir}/b.jsonl`,
      dropLegacy: true,
    });
    assert.deepEqual(summary.conflicts, [{
      packageId: "kiro#0.2.13",
      attributes: ["section", "sha256_hash"],
    }]);
    assert.equal(summary.migrated, 2);
    assert.equal(summary.complete, false);
    assert.deepEqual(summary.verification?.different.map((d) => d.packageId), ["kiro#0.2.13"]);
    assert.equal(summary.legacyDropped, 0);
    assert.equal(
      (await stack.store.get({ package_name: "kiro", version: "0.2.13", architecture: "amd64" }))
        ?.section,
      "devel",
    );
    assert.equal((await snapshot(stack, stack.outputs.legacyTableName)).length, 3);
  });
});

Deno.test("drop-legacy deletes the legacy items only after a verified run", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    const backupFile = `${dir}/b.jsonl`;
    const summary = await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...tables(stack),
      defaults,
      backupFile,
      dropLegacy: true,
    });
    assert.equal(summary.complete, true);
    assert.equal(summary.legacyDropped, 3);
    assert.deepEqual(await snapshot(stack, stack.outputs.legacyTableName), []);
    assert.equal((await snapshot(stack, stack.outputs.tableName)).length, 3);
    // The backup puts the legacy table back exactly.
    const restored = await restoreBackup(stack.clients.dynamoRaw, backupFile, {
      table: stack.outputs.legacyTableName,
    });
    assert.equal(restored.restored, 3);
    assert.deepEqual(
      await snapshot(stack, stack.outputs.legacyTableName),
      ITEMS.map((item) => JSON.stringify(encodeItem(item))).sort(),
    );
  });
});

Deno.test("a missing legacy table stops the run before anything is written and says to seed one locally", async () => {
  await withLegacyStack(async (stack, dir) => {
    await stack.clients.dynamoRaw.send(
      new DeleteTableCommand({ TableName: stack.outputs.legacyTableName }),
    );
    const error = await rejectsWith(
      migrateLegacyTable(stack.clients.dynamoRaw, {
        ...tables(stack),
        defaults,
        backupFile: `${dir}/b.jsonl`,
      }),
      "source-table-missing",
      stack.outputs.legacyTableName,
    );
    assert.match(error.message, /run deno task seed-legacy --env local\)$/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("a missing packages table stops the run before anything is written", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    await rejectsWith(
      migrateLegacyTable(stack.clients.dynamoRaw, {
        sourceTable: stack.outputs.legacyTableName,
        targetTable: "kiro-debian-repo-manager-packages-nowhere",
        defaults,
        backupFile: `${dir}/b.jsonl`,
      }),
      "target-table-missing",
      "deploy the stack",
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.equal((await snapshot(stack, stack.outputs.legacyTableName)).length, 3);
  });
});

Deno.test("the packages table given as the legacy table is refused", async () => {
  await withLegacyStack(async (stack, dir) => {
    await rejectsWith(
      migrateLegacyTable(stack.clients.dynamoRaw, {
        sourceTable: stack.outputs.tableName,
        targetTable: stack.outputs.tableName,
        defaults,
        backupFile: `${dir}/b.jsonl`,
      }),
      "wrong-key-schema",
      "not the legacy table",
    );
  });
});

Deno.test("an existing backup file is never overwritten and nothing is written", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    const backupFile = `${dir}/b.jsonl`;
    await Deno.writeTextFile(backupFile, "precious\n");
    await rejectsWith(
      migrateLegacyTable(stack.clients.dynamoRaw, { ...tables(stack), defaults, backupFile }),
      "backup-exists",
      backupFile,
    );
    assert.equal(await Deno.readTextFile(backupFile), "precious\n");
    assert.deepEqual(await snapshot(stack, stack.outputs.tableName), []);
  });
});

Deno.test("a backup path in a missing folder stops the run before anything is written", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    await rejectsWith(
      migrateLegacyTable(stack.clients.dynamoRaw, {
        ...tables(stack),
        defaults,
        backupFile: `${dir}/no/such/folder/b.jsonl`,
      }),
      "backup-path",
      "its folder does not exist",
    );
    assert.deepEqual(await snapshot(stack, stack.outputs.tableName), []);
  });
});

Deno.test("an item that cannot be transformed stops the run, named, with no table written", async () => {
  await withLegacyStack(async (stack, dir) => {
    const { sha256_hash: _, ...broken } = kiro("0.3.0", 7);
    await putLegacy(stack, [...ITEMS, broken]);
    await rejectsWith(
      migrateLegacyTable(stack.clients.dynamoRaw, {
        ...tables(stack),
        defaults,
        backupFile: `${dir}/b.jsonl`,
      }),
      "transform",
      'legacy item "0.3.0": sha256_hash is missing',
    );
    assert.deepEqual(await snapshot(stack, stack.outputs.tableName), []);
  });
});

Deno.test("a malformed backup is refused on restore, naming the line, with nothing written", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    const backupFile = `${dir}/b.jsonl`;
    await migrateLegacyTable(stack.clients.dynamoRaw, { ...tables(stack), defaults, backupFile });
    await batchDelete(
      stack.clients.dynamoRaw,
      stack.outputs.legacyTableName,
      ITEMS.map((item) => ({ version: item.version as Item[string] })),
    );
    const lines = (await Deno.readTextFile(backupFile)).split("\n");
    const cases: [string, string][] = [
      [lines.slice(0, -2).join("\n") + "\n", "the last line must be"],
      [
        [lines[0], lines[1], '{"Item": {"version": {"N": "x"}}}', ...lines.slice(3)].join("\n"),
        "line 3",
      ],
      [lines.join("\n").replace('"count":3', '"count":4'), "counts 4 items but the file holds 3"],
      ["not json\n", "line 1: not valid JSON"],
    ];
    for (const [text, message] of cases) {
      const bad = `${dir}/bad-${cases.findIndex(([t]) => t === text)}.jsonl`;
      await Deno.writeTextFile(bad, text);
      await rejectsWith(
        restoreBackup(stack.clients.dynamoRaw, bad, { table: stack.outputs.legacyTableName }),
        "backup-malformed",
        message,
      );
      assert.deepEqual(await snapshot(stack, stack.outputs.legacyTableName), []);
    }
    await rejectsWith(
      restoreBackup(stack.clients.dynamoRaw, `${dir}/absent.jsonl`, {
        table: stack.outputs.legacyTableName,
      }),
      "backup-path",
      "it does not exist",
    );
  });
});

Deno.test("a backup that holds the same key twice is refused on restore as malformed, naming the file and the key", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    const backupFile = `${dir}/b.jsonl`;
    await migrateLegacyTable(stack.clients.dynamoRaw, { ...tables(stack), defaults, backupFile });
    await batchDelete(
      stack.clients.dynamoRaw,
      stack.outputs.legacyTableName,
      ITEMS.map((item) => ({ version: item.version as Item[string] })),
    );
    const lines = (await Deno.readTextFile(backupFile)).trimEnd().split("\n");
    const edited = JSON.parse(lines[1] as string);
    edited.Item.notes = { S: "edited" };
    const doubled = `${dir}/doubled.jsonl`;
    await Deno.writeTextFile(
      doubled,
      [
        ...lines.slice(0, -1),
        JSON.stringify(edited),
        (lines.at(-1) as string).replace('"count":3', '"count":4'),
      ].join("\n") + "\n",
    );
    const error = await rejectsWith(
      restoreBackup(stack.clients.dynamoRaw, doubled, { table: stack.outputs.legacyTableName }),
      "backup-malformed",
      `Backup file ${doubled} is malformed at line 5: it holds the key version 0.1.0 again ` +
        "(first at line 2)",
    );
    assert.doesNotMatch(error.message, /conflict/);
    assert.deepEqual(await snapshot(stack, stack.outputs.legacyTableName), []);
  });
});

Deno.test("a legacy backup cannot be restored into the packages table", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    const backupFile = `${dir}/b.jsonl`;
    await migrateLegacyTable(stack.clients.dynamoRaw, { ...tables(stack), defaults, backupFile });
    await stack.clearTable();
    await rejectsWith(
      restoreBackup(stack.clients.dynamoRaw, backupFile, { table: stack.outputs.tableName }),
      "key-missing",
      "has no package_id attribute",
    );
    assert.deepEqual(await snapshot(stack, stack.outputs.tableName), []);
  });
});

Deno.test("restore skips equal items, reports changed ones, and replaces them only when asked", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    const backupFile = `${dir}/b.jsonl`;
    await migrateLegacyTable(stack.clients.dynamoRaw, { ...tables(stack), defaults, backupFile });
    await putLegacy(stack, [{ ...(ITEMS[0] as Item), notes: { S: "edited" } }]);
    const first = await restoreBackup(stack.clients.dynamoRaw, backupFile, {
      table: stack.outputs.legacyTableName,
    });
    assert.equal(first.skipped, 2);
    assert.deepEqual(first.conflicts, [{ packageId: "0.1.0", attributes: ["notes"] }]);
    const second = await restoreBackup(stack.clients.dynamoRaw, backupFile, {
      table: stack.outputs.legacyTableName,
      overwrite: true,
    });
    assert.equal(second.replaced, 1);
    assert.deepEqual(
      await snapshot(stack, stack.outputs.legacyTableName),
      ITEMS.map((item) => JSON.stringify(encodeItem(item))).sort(),
    );
  });
});

Deno.test("verification notices a legacy item added after the migration", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...tables(stack),
      defaults,
      backupFile: `${dir}/b.jsonl`,
    });
    await putLegacy(stack, [kiro("1.0.400", 9)]);
    const report = await verifyMigration(stack.clients.dynamoRaw, { ...tables(stack), defaults });
    assert.equal(report.complete, false);
    assert.deepEqual(report.missing, ["kiro#1.0.400"]);
    assert.equal(report.verified, 3);
  });
});

Deno.test("records whose .deb is not in the pool stop the run before any write; a dry run lists them", async () => {
  await withLegacyStack(async (stack, dir) => {
    const objects = new MemoryObjectStore();
    const kiroDefaults = await loadLegacyDefaults("config/packages");
    assert.equal(kiroDefaults.packageName, "kiro");
    const seeded = await seedLegacyTable(stack.clients.dynamoRaw, objects, {
      table: stack.outputs.legacyTableName,
      count: 3,
      defaults: kiroDefaults,
    });
    assert.deepEqual(seeded.poolKeys, [
      "pool/main/k/kiro/kiro-ide-0.1.0-stable-linux-x64.deb",
      "pool/main/k/kiro/kiro-ide-0.1.6-stable-linux-x64.deb",
      "pool/main/k/kiro/kiro-ide-0.1.15-stable-linux-x64.deb",
    ]);
    const base = { ...tables(stack), defaults: kiroDefaults, checkPool: poolChecker(objects) };
    const dry = await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...base,
      dryRun: true,
      poolLayout: "canonical",
    });
    assert.equal(dry.complete, false);
    assert.deepEqual(dry.poolProblems, [
      "kiro#0.1.0 (pool/main/k/kiro/kiro_0.1.0_amd64.deb) is not in the bucket",
      "kiro#0.1.6 (pool/main/k/kiro/kiro_0.1.6_amd64.deb) is not in the bucket",
      "kiro#0.1.15 (pool/main/k/kiro/kiro_0.1.15_amd64.deb) is not in the bucket",
    ]);
    await rejectsWith(
      migrateLegacyTable(stack.clients.dynamoRaw, {
        ...base,
        poolLayout: "canonical",
        backupFile: `${dir}/canonical.jsonl`,
      }),
      "pool",
      "3 records would point at pool objects that are missing",
    );
    assert.deepEqual(await snapshot(stack, stack.outputs.tableName), []);
    // A pool object with other bytes than the legacy record says is caught too.
    const first = seeded.poolKeys[0] as string;
    await objects.put(first, new Uint8Array([1, 2, 3]), {
      contentType: "application/vnd.debian.binary-package",
      cacheControl: "no-cache",
    });
    const damaged = await migrateLegacyTable(stack.clients.dynamoRaw, { ...base, dryRun: true });
    assert.deepEqual(damaged.poolProblems.length, 1);
    assert.match(damaged.poolProblems[0] as string, /kiro#0\.1\.0 .* has 3 bytes/);
    await objects.delete(first);
    await seedLegacyTable(stack.clients.dynamoRaw, objects, {
      table: stack.outputs.legacyTableName,
      count: 1,
      defaults: kiroDefaults,
    });
    const real = await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...base,
      backupFile: `${dir}/legacy.jsonl`,
    });
    assert.equal(real.complete, true);
    assert.equal(real.migrated, 3);
  });
});

function memoryOpener(objects: MemoryObjectStore) {
  return async (key: string) => {
    const bytes = await objects.get(key);
    return bytes === undefined ? undefined : new Blob([bytes.slice()]).stream();
  };
}

Deno.test("records get the control paragraph of their own .deb, which must agree with them", async () => {
  await withLegacyStack(async (stack, dir) => {
    const objects = new MemoryObjectStore();
    const kiroDefaults = await loadLegacyDefaults("config/packages");
    const seeded = await seedLegacyTable(stack.clients.dynamoRaw, objects, {
      table: stack.outputs.legacyTableName,
      count: 3,
      defaults: { ...kiroDefaults, depends: "libgtk-3-0 (>= 3.20)" },
    });
    // The .deb of 0.1.6 says it is another version than its legacy record.
    const wrongKey = seeded.poolKeys[1] as string;
    const wrong = buildDeb({
      control: {
        Package: "kiro",
        Version: "9.9.9",
        Architecture: "amd64",
        Maintainer: "K <k@k>",
        Description: "x",
      },
      files: [],
      mtime: 0,
    });
    const original = await objects.get(wrongKey);
    await objects.put(wrongKey, wrong, {
      contentType: "application/vnd.debian.binary-package",
      cacheControl: "x",
    });
    const base = {
      ...tables(stack),
      defaults: kiroDefaults,
      controlFor: poolControlReader(memoryOpener(objects)),
    };
    const dry = await migrateLegacyTable(stack.clients.dynamoRaw, { ...base, dryRun: true });
    assert.equal(dry.complete, false);
    assert.equal(dry.poolProblems.length, 1);
    assert.match(
      dry.poolProblems[0] as string,
      /legacy item "0\.1\.6".*control field Version is "9\.9\.9"/,
    );
    await rejectsWith(
      migrateLegacyTable(stack.clients.dynamoRaw, { ...base, backupFile: `${dir}/a.jsonl` }),
      "transform",
      'legacy item "0.1.6"',
    );
    assert.deepEqual(await snapshot(stack, stack.outputs.tableName), []);

    await objects.put(wrongKey, original as Uint8Array, {
      contentType: "application/vnd.debian.binary-package",
      cacheControl: "x",
    });
    const real = await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...base,
      controlFor: poolControlReader(memoryOpener(objects)),
      backupFile: `${dir}/b.jsonl`,
    });
    assert.equal(real.complete, true, JSON.stringify(real.verification));
    const record = await stack.store.get({
      package_name: "kiro",
      version: "0.1.6",
      architecture: "amd64",
    });
    assert.equal(record?.control.Depends, "libgtk-3-0 (>= 3.20)");
    assert.match(record?.control["Installed-Size"] ?? "", /^\d+$/);
    // The record's own fields still come from the configuration.
    assert.equal(record?.depends, undefined);
    assert.equal(record?.section, "editors");
  });
});

Deno.test("an item too large for DynamoDB once transformed stops the run before any write", async () => {
  await withLegacyStack(async (stack, dir) => {
    // Just under the limit as a legacy item (DynamoDB took it), over it once transformed.
    const small = kiro("0.9.0", 9);
    const notes = 400 * 1024 - 100 -
      (itemSize(small) - itemSize({ notes: small.notes as Item[string] }));
    const big = { ...small, notes: { S: "n".repeat(notes) } };
    assert.ok(itemSize(big) < 400 * 1024);
    await putLegacy(stack, [...ITEMS, big]);
    await rejectsWith(
      migrateLegacyTable(stack.clients.dynamoRaw, {
        ...tables(stack),
        defaults,
        backupFile: `${dir}/b.jsonl`,
      }),
      "transform",
      `legacy item "0.9.0": the item is`,
    );
    assert.deepEqual(await snapshot(stack, stack.outputs.tableName), []);
  });
});

Deno.test("an item written by someone else between the check and the write is never overwritten", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    const raw = stack.clients.dynamoRaw;
    const theirs = {
      ...transformAndValidate(ITEMS[1] as Item, { defaults }),
      file_size: { N: "1" },
    };
    const same = transformAndValidate(ITEMS[0] as Item, { defaults });
    // The other writer (say, the scheduled Lambda) records two versions just before our puts.
    const racing = {
      send: (async (command: unknown) => {
        if (command instanceof PutItemCommand && command.input.ConditionExpression !== undefined) {
          const id = command.input.Item?.package_id?.S;
          const first = id === "kiro#0.2.13" ? theirs : id === "kiro#0.1.0" ? same : undefined;
          if (first !== undefined) {
            await raw.send(new PutItemCommand({ TableName: stack.outputs.tableName, Item: first }));
          }
        }
        return await (raw.send as (c: unknown) => Promise<unknown>)(command);
      }) as typeof raw.send,
    };
    const summary = await migrateLegacyTable(racing, {
      ...tables(stack),
      defaults,
      backupFile: `${dir}/b.jsonl`,
    });
    assert.equal(summary.migrated, 1);
    assert.equal(summary.skipped, 1);
    assert.deepEqual(summary.conflicts, [{ packageId: "kiro#0.2.13", attributes: ["file_size"] }]);
    assert.equal(summary.complete, false);
    assert.equal(
      (await stack.store.get({ package_name: "kiro", version: "0.2.13", architecture: "amd64" }))
        ?.file_size,
      1,
    );
  });
});

Deno.test("a version already recorded from the same .deb is kept and reported as superseded; --strict refuses it", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    // The scheduled sync recorded 1.0.337 before the migration: same file, its own pool key and control.
    const synced = {
      ...transformAndValidate(ITEMS[2] as Item, { defaults }),
      pool_key: { S: "pool/main/k/kiro/kiro_1.0.337_amd64.deb" },
      deb_url: { S: "https://prod.download.desktop.kiro.dev/releases/1.0.337/kiro.deb" },
      processed_timestamp: { S: "2026-11-01T00:00:00Z" },
    };
    await stack.clients.dynamoRaw.send(
      new PutItemCommand({ TableName: stack.outputs.tableName, Item: synced }),
    );
    const strict = await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...tables(stack),
      defaults,
      backupFile: `${dir}/strict.jsonl`,
      strict: true,
    });
    assert.equal(strict.complete, false);
    assert.deepEqual(strict.conflicts.map((c) => c.packageId), ["kiro#1.0.337"]);
    const summary = await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...tables(stack),
      defaults,
      backupFile: `${dir}/b.jsonl`,
    });
    assert.equal(summary.complete, true);
    assert.deepEqual(summary.superseded, [{
      packageId: "kiro#1.0.337",
      attributes: ["deb_url", "pool_key", "processed_timestamp"],
    }]);
    assert.deepEqual(summary.conflicts, []);
    assert.equal(summary.skipped, 2);
    assert.equal(summary.verification?.superseded.length, 1);
    assert.equal(
      (await stack.store.get({ package_name: "kiro", version: "1.0.337", architecture: "amd64" }))
        ?.pool_key,
      "pool/main/k/kiro/kiro_1.0.337_amd64.deb",
    );
    assert.match(
      formatMigrationSummary(summary),
      /Skipped \(already recorded with the same \.deb\): 1/,
    );
  });
});

Deno.test("a backup of the packages table restores into it exactly", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, ITEMS);
    await migrateLegacyTable(stack.clients.dynamoRaw, {
      ...tables(stack),
      defaults,
      backupFile: `${dir}/legacy.jsonl`,
    });
    const before = await snapshot(stack, stack.outputs.tableName);
    const key = await describeTableKey(stack.clients.dynamoRaw, stack.outputs.tableName);
    assert.ok(key);
    await writeBackup(stack.clients.dynamoRaw, stack.outputs.tableName, {
      file: `${dir}/new.jsonl`,
      key,
    });
    await stack.clearTable();
    const restored = await restoreBackup(stack.clients.dynamoRaw, `${dir}/new.jsonl`, {
      table: stack.outputs.tableName,
    });
    assert.equal(restored.restored, 3);
    assert.deepEqual(await snapshot(stack, stack.outputs.tableName), before);
  });
});
