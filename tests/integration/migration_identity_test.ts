/**
 * The legacy migration writes identities: each legacy Kiro version becomes the
 * item (`kiro#{canonical version}`, `amd64`) of the packages table, published;
 * and the backup/restore of the packages table keeps both key attributes.
 */

import assert from "node:assert/strict";
import { CreateTableCommand, DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { type Item } from "../../tasks/migration/attribute_value.ts";
import { writeBackup } from "../../tasks/migration/backup.ts";
import { MigrationError } from "../../tasks/migration/errors.ts";
import { legacyItem } from "../../tasks/migration/legacy_table.ts";
import { checkTables, migrateLegacyTable } from "../../tasks/migration/migrate.ts";
import { restoreBackup } from "../../tasks/migration/restore.ts";
import { describeTableKey, scanAll } from "../../tasks/migration/table_ops.ts";
import { loadLegacyDefaults } from "../../tasks/migration/wiring.ts";
import type { TestStack } from "../support/stack.ts";
import { putLegacy, withLegacyStack } from "../support/legacy_stack.ts";

function kiro(version: string, n: number): Item {
  return legacyItem({
    version,
    pubDate: "2025-06-01T10:00:00Z",
    processedTimestamp: `2025-06-01T10:0${n}:00.000000`,
    debUrl: `https://prod.download.desktop.kiro.dev/releases/${version}/kiro-ide-${version}.deb`,
    actualFilename: `kiro-ide-${version}-stable-linux-x64.deb`,
    size: 100_000_000 + n,
    md5: n.toString(16).padStart(32, "0"),
    sha1: n.toString(16).padStart(40, "0"),
    sha256: n.toString(16).padStart(64, "0"),
  });
}

/** (package_id, architecture, version, status) of every item of `table`, sorted. */
async function keys(stack: TestStack, table: string): Promise<string[]> {
  return (await scanAll(stack.clients.dynamoRaw, table)).map((item) =>
    [item.package_id?.S, item.architecture?.S, item.version?.S, item.status?.S].join(" ")
  ).sort();
}

async function migrationError(promise: Promise<unknown>): Promise<MigrationError> {
  const error = await promise.then(
    () => assert.fail("expected the migration to stop"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof MigrationError, String(error));
  return error;
}

Deno.test("legacy versions become published amd64 identities keyed by package_id and architecture", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, [kiro("0.2.13", 1), kiro("1.0.337", 2)]);
    // The architecture comes from the package's configuration.
    const defaults = await loadLegacyDefaults("config/packages");
    assert.equal(defaults.architecture, "amd64");
    const summary = await migrateLegacyTable(stack.clients.dynamoRaw, {
      sourceTable: stack.outputs.legacyTableName,
      targetTable: stack.outputs.tableName,
      defaults,
      backupFile: `${dir}/legacy.jsonl`,
    });
    assert.equal(summary.migrated, 2);
    assert.equal(summary.complete, true);
    assert.deepEqual(await keys(stack, stack.outputs.tableName), [
      "kiro#0.2.13 amd64 0.2.13 published",
      "kiro#1.0.337 amd64 1.0.337 published",
    ]);
    const record = await stack.store.get({
      package_name: "kiro",
      version: "1.0.337",
      architecture: "amd64",
    });
    assert.equal(record?.package_id, "kiro#1.0.337");
    assert.equal(record?.architecture, "amd64");
    assert.equal(record?.status, "published");
    assert.equal(record?.sha256_hash, (2).toString(16).padStart(64, "0"));
    assert.equal(record?.control.Architecture, "amd64");
    assert.equal(
      await stack.store.has({ package_name: "kiro", version: "1.0.337", architecture: "arm64" }),
      false,
    );
  });
});

Deno.test("a packages table keyed by package_id alone is refused as the target, before anything is written", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, [kiro("1.0.337", 1)]);
    const oldTable = "kiro-packages-old-key";
    await stack.clients.dynamoRaw.send(
      new CreateTableCommand({
        TableName: oldTable,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "package_id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "package_id", KeyType: "HASH" }],
      }),
    );
    const { Table } = await stack.clients.dynamoRaw.send(
      new DescribeTableCommand({ TableName: oldTable }),
    );
    assert.equal(Table?.KeySchema?.length, 1);
    const tables = { sourceTable: stack.outputs.legacyTableName, targetTable: oldTable };

    const checked = await migrationError(checkTables(stack.clients.dynamoRaw, tables));
    assert.equal(checked.kind, "wrong-key-schema");
    assert.ok(checked.message.includes(oldTable), checked.message);
    assert.match(checked.message, /keyed by package_id, not package_id \+ architecture/);

    const migrated = await migrationError(
      migrateLegacyTable(stack.clients.dynamoRaw, {
        ...tables,
        defaults: await loadLegacyDefaults("config/packages"),
        backupFile: `${dir}/legacy.jsonl`,
      }),
    );
    assert.equal(migrated.kind, "wrong-key-schema");
    assert.deepEqual(await scanAll(stack.clients.dynamoRaw, oldTable), []);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("two legacy versions dpkg holds equal (1.0 and 1.00) are refused, naming both, with nothing written", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, [kiro("1.0", 1), kiro("1.00", 2), kiro("2.0", 3)]);
    const error = await migrationError(
      migrateLegacyTable(stack.clients.dynamoRaw, {
        sourceTable: stack.outputs.legacyTableName,
        targetTable: stack.outputs.tableName,
        defaults: await loadLegacyDefaults("config/packages"),
        backupFile: `${dir}/legacy.jsonl`,
      }),
    );
    assert.equal(error.kind, "transform");
    assert.ok(error.message.includes('"1.0"'), error.message);
    assert.ok(error.message.includes('"1.00"'), error.message);
    assert.ok(error.message.includes("kiro#1.0 (amd64)"), error.message);
    assert.match(error.message, /dpkg holds\s+their versions equal/);
    assert.deepEqual(await keys(stack, stack.outputs.tableName), []);
  });
});

Deno.test("a backup of the packages table restores every item with both key attributes", async () => {
  await withLegacyStack(async (stack, dir) => {
    await putLegacy(stack, [kiro("0.2.13", 1), kiro("1.0.337", 2)]);
    await migrateLegacyTable(stack.clients.dynamoRaw, {
      sourceTable: stack.outputs.legacyTableName,
      targetTable: stack.outputs.tableName,
      defaults: await loadLegacyDefaults("config/packages"),
      backupFile: `${dir}/legacy.jsonl`,
    });
    const key = await describeTableKey(stack.clients.dynamoRaw, stack.outputs.tableName);
    assert.equal(key?.name, "package_id");
    assert.equal(key?.sortKey, "architecture");
    const before = await keys(stack, stack.outputs.tableName);
    await writeBackup(stack.clients.dynamoRaw, stack.outputs.tableName, {
      file: `${dir}/packages.jsonl`,
      key: key!,
    });

    await stack.clearTable();
    assert.deepEqual(await keys(stack, stack.outputs.tableName), []);
    const summary = await restoreBackup(stack.clients.dynamoRaw, `${dir}/packages.jsonl`, {
      table: stack.outputs.tableName,
    });
    assert.equal(summary.restored, 2);
    assert.deepEqual(summary.conflicts, []);
    assert.deepEqual(await keys(stack, stack.outputs.tableName), before);
    assert.equal(
      (await stack.store.get({ package_name: "kiro", version: "0.2.13", architecture: "amd64" }))
        ?.status,
      "published",
    );
  });
});
