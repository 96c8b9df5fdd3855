/**
 * Properties of the legacy-table migration against one dynalite (the test
 * stack), tables cleared between runs:
 *
 * - completeness (`docs/migration.md`): after a migration every legacy item
 *   has its new item, equal to its transform, and nothing else was written;
 * - migrating twice is migrating once;
 * - backup → restore puts the table back exactly, types and all;
 * - a migration stopped after any write, then run again, ends complete.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AttributeValue,
  BatchWriteItemCommand,
  PutItemCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { startTestStack, type TestStack } from "../support/stack.ts";
import {
  decodeItem,
  encodeItem,
  type Item,
  itemFingerprint,
} from "../../tasks/migration/attribute_value.ts";
import { writeBackup } from "../../tasks/migration/backup.ts";
import { ensureLegacyTable, legacyItem } from "../../tasks/migration/legacy_table.ts";
import { migrateLegacyTable } from "../../tasks/migration/migrate.ts";
import { restoreBackup } from "../../tasks/migration/restore.ts";
import {
  batchDelete,
  describeTableKey,
  type DynamoDbSender,
  scanAll,
} from "../../tasks/migration/table_ops.ts";
import { type LegacyDefaults, transformAndValidate } from "../../tasks/migration/transform.ts";
import { KIRO_LEGACY_DEFAULTS } from "../support/migration_fixtures.ts";

/** Kiro's defaults, with an extended description and a dependency to carry over too. */
const defaults: LegacyDefaults = {
  ...KIRO_LEGACY_DEFAULTS,
  description: `${KIRO_LEGACY_DEFAULTS.description}\nAn editor with agents.`,
  depends: "libgtk-3-0, libnss3",
};

const hexChar = fc.constantFrom(..."0123456789abcdef");
const hexString = (length: number) =>
  fc.array(hexChar, { minLength: length, maxLength: length }).map((chars) => chars.join(""));

/** Valid Debian versions of the shapes Kiro used, plus epochs and tildes. */
const version = fc.tuple(
  fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  fc.integer({ min: 0, max: 9 }),
  fc.integer({ min: 0, max: 99 }),
  fc.integer({ min: 0, max: 999 }),
  fc.option(fc.constantFrom("~rc1", "~beta2", "+build5"), { nil: undefined }),
).map(([epoch, a, b, c, suffix]) =>
  `${epoch === undefined ? "" : `${epoch}:`}${a}.${b}.${c}${suffix ?? ""}`
);

/** Decimal text DynamoDB accepts, with more digits than a double holds. */
const numberText = fc.tuple(
  fc.boolean(),
  fc.bigInt({ min: 0n, max: 10n ** 25n }),
  fc.option(fc.integer({ min: 0, max: 999999 }), { nil: undefined }),
).map(([negative, whole, fraction]) =>
  `${negative && (whole > 0n || (fraction ?? 0) > 0) ? "-" : ""}${whole}${
    fraction === undefined ? "" : `.${String(fraction).padStart(6, "0")}`
  }`
);

const text = fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" });
const bytes = fc.uint8Array({ minLength: 1, maxLength: 24 });

const scalar: fc.Arbitrary<AttributeValue> = fc.oneof(
  text.map((S) => ({ S })),
  numberText.map((N) => ({ N })),
  bytes.map((B) => ({ B })),
  fc.uniqueArray(text, { minLength: 1, maxLength: 5 }).map((SS) => ({ SS })),
  fc.uniqueArray(fc.integer({ min: -1_000_000, max: 1_000_000 }), { minLength: 1, maxLength: 5 })
    .map((ns) => ({ NS: ns.map(String) })),
  fc.uniqueArray(bytes, {
    minLength: 1,
    maxLength: 4,
    selector: (b) => Array.from(b).join(","),
  }).map((BS) => ({ BS })),
  fc.constant({ NULL: true } as AttributeValue),
  fc.boolean().map((BOOL) => ({ BOOL })),
);

const attributeValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), scalar, { maxKeys: 4 })
      .map((M) => ({ M })),
  },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }).map((L) => ({ L })) },
);

/** Extra attributes a legacy item may carry (names that are not record fields). */
const extras = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 10 }).map((name) => `x_${name}`),
  attributeValue,
  { maxKeys: 3 },
);

/** A legacy item, possibly with extra attributes, possibly already migrated. */
const legacyEntry = fc.record({
  version,
  size: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  md5: hexString(32),
  sha1: hexString(40),
  sha256: hexString(64),
  notes: fc.option(text, { nil: undefined }),
  extras,
  state: fc.constantFrom("legacy", "legacy", "legacy", "migrated", "partly-migrated"),
}).map((entry) => {
  const base: Item = {
    ...entry.extras,
    ...legacyItem({
      version: entry.version,
      pubDate: "2025-08-14T10:00:00Z",
      processedTimestamp: "2025-08-14T10:05:00.000000",
      debUrl: `https://prod.download.desktop.kiro.dev/releases/kiro-ide-${entry.version}.deb`,
      actualFilename: `kiro-ide-${entry.version.replace(":", "_")}-stable-linux-x64.deb`,
      size: entry.size,
      md5: entry.md5,
      sha1: entry.sha1,
      sha256: entry.sha256,
      ...(entry.notes === undefined ? {} : { notes: entry.notes }),
    }),
  };
  if (entry.state === "migrated") return transformAndValidate(base, { defaults });
  if (entry.state === "partly-migrated") {
    return { ...base, package_name: { S: "kiro" }, section: { S: "devel" } };
  }
  return base;
});

const legacyTable = fc.uniqueArray(legacyEntry, {
  maxLength: 15,
  selector: (item) => item.version?.S,
});

/** What the new table must hold for `items`: their transforms. */
function expected(items: readonly Item[]): string[] {
  return items.map((item) => transformAndValidate(item, { defaults })).map(canonicalJson).sort();
}

/** An item's value as text: numbers by value, sets unordered (DynamoDB normalizes both). */
function canonicalJson(item: Item): string {
  return itemFingerprint(item);
}

async function snapshot(client: DynamoDbSender, table: string): Promise<string[]> {
  return (await scanAll(client, table)).map((item) => JSON.stringify(encodeItem(item))).sort();
}

async function normalizedSnapshot(client: DynamoDbSender, table: string): Promise<string[]> {
  // Round-trip through the table so numbers and sets read back as DynamoDB returns them.
  return (await scanAll(client, table)).map(canonicalJson).sort();
}

interface Fixture {
  stack: TestStack;
  client: DynamoDbSender;
  dir: string;
  legacy: string;
  target: string;
  runs: number;
}

async function withFixture(fn: (fixture: Fixture) => Promise<void>): Promise<void> {
  const stack = await startTestStack();
  const dir = await Deno.makeTempDir({ prefix: "kiro-migration-prop-" });
  try {
    await ensureLegacyTable(stack.clients.dynamoRaw, stack.outputs.legacyTableName);
    await fn({
      stack,
      client: stack.clients.dynamoRaw,
      dir,
      legacy: stack.outputs.legacyTableName,
      target: stack.outputs.tableName,
      runs: 0,
    });
  } finally {
    await stack.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function reset(fixture: Fixture, items: readonly Item[]): Promise<void> {
  const old = await scanAll(fixture.client, fixture.legacy);
  await batchDelete(
    fixture.client,
    fixture.legacy,
    old.map((item) => ({ version: item.version as AttributeValue })),
  );
  await fixture.stack.clearTable();
  for (let i = 0; i < items.length; i += 25) {
    await fixture.client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [fixture.legacy]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
        },
      }),
    );
  }
}

function backupPath(fixture: Fixture): string {
  return `${fixture.dir}/backup-${++fixture.runs}.jsonl`;
}

const noWait = { attempts: 8, sleep: () => Promise.resolve() };

Deno.test("every legacy item is migrated equal to its transform, and migrating twice is migrating once", async () => {
  await withFixture(async (fixture) => {
    await fc.assert(
      fc.asyncProperty(
        legacyTable,
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.boolean(), { maxLength: 15 }),
        async (items, pageSize, concurrency, alreadyInTarget) => {
          await reset(fixture, items);
          // Some items were migrated by an earlier (interrupted) run.
          const earlier = items.filter((_, i) => alreadyInTarget[i] === true);
          for (const item of earlier) {
            await fixture.client.send(
              new PutItemCommand({
                TableName: fixture.target,
                Item: transformAndValidate(item, { defaults }),
              }),
            );
          }
          const legacyBefore = await snapshot(fixture.client, fixture.legacy);
          const options = {
            sourceTable: fixture.legacy,
            targetTable: fixture.target,
            defaults,
            pageSize,
            concurrency,
            retry: noWait,
          };
          const first = await migrateLegacyTable(fixture.client, {
            ...options,
            backupFile: backupPath(fixture),
          });
          assert.equal(first.complete, true);
          assert.equal(first.total, items.length);
          assert.equal(first.migrated, items.length - earlier.length);
          assert.equal(first.skipped, earlier.length);
          const after = await normalizedSnapshot(fixture.client, fixture.target);
          assert.deepEqual(after, expected(items));
          const second = await migrateLegacyTable(fixture.client, {
            ...options,
            backupFile: backupPath(fixture),
          });
          assert.equal(second.complete, true);
          assert.equal(second.migrated, 0);
          assert.equal(second.skipped, items.length);
          assert.deepEqual(await normalizedSnapshot(fixture.client, fixture.target), after);
          assert.deepEqual(await snapshot(fixture.client, fixture.legacy), legacyBefore);
        },
      ),
      { numRuns: 100 },
    );
  });
});

Deno.test("backup then restore puts a table back exactly, types and all", async () => {
  await withFixture(async (fixture) => {
    const key = await describeTableKey(fixture.client, fixture.legacy);
    assert.ok(key);
    await fc.assert(
      fc.asyncProperty(legacyTable, fc.integer({ min: 1, max: 12 }), async (items, pageSize) => {
        await reset(fixture, items);
        const before = await snapshot(fixture.client, fixture.legacy);
        const file = backupPath(fixture);
        const backup = await writeBackup(fixture.client, fixture.legacy, { file, key, pageSize });
        assert.equal(backup.items.length, items.length);
        await reset(fixture, []);
        const summary = await restoreBackup(fixture.client, file, {
          table: fixture.legacy,
          retry: noWait,
        });
        assert.equal(summary.restored, items.length);
        assert.deepEqual(await snapshot(fixture.client, fixture.legacy), before);
        // What the file holds is what was put in, value for value.
        assert.deepEqual(backup.items.map(canonicalJson).sort(), items.map(canonicalJson).sort());
      }),
      { numRuns: 100 },
    );
  });
});

/** A client that fails every call once `writes` writes have been sent (a crash). */
function crashingClient(
  client: DynamoDbSender,
  writes: number,
  ackLost: boolean,
): DynamoDbSender & { crashed: () => boolean } {
  let sent = 0;
  let down = false;
  const send = async (command: unknown) => {
    if (down) {
      throw Object.assign(new Error("connection reset (injected)"), { name: "NetworkingError" });
    }
    const isWrite = command instanceof PutItemCommand;
    if (isWrite && sent >= writes) {
      down = true;
      if (ackLost) await (client.send as (c: unknown) => Promise<unknown>)(command);
      throw Object.assign(new Error("connection reset (injected)"), { name: "NetworkingError" });
    }
    if (isWrite) sent++;
    return await (client.send as (c: unknown) => Promise<unknown>)(command);
  };
  return { send: send as DynamoDbSender["send"], crashed: () => down };
}

Deno.test("a migration stopped after any write and run again ends complete, nothing lost or duplicated", async () => {
  await withFixture(async (fixture) => {
    await fc.assert(
      fc.asyncProperty(
        legacyTable.filter((items) => items.length > 0),
        fc.nat(),
        fc.boolean(),
        fc.integer({ min: 1, max: 6 }),
        async (items, k, ackLost, concurrency) => {
          await reset(fixture, items);
          const writes = k % (items.length + 1);
          const faulty = crashingClient(fixture.client, writes, ackLost);
          const options = {
            sourceTable: fixture.legacy,
            targetTable: fixture.target,
            defaults,
            concurrency,
            retry: noWait,
          };
          let firstComplete = false;
          try {
            const first = await migrateLegacyTable(faulty, {
              ...options,
              backupFile: backupPath(fixture),
            });
            firstComplete = first.complete;
          } catch (error) {
            assert.ok(error instanceof Error && error.message.includes("injected"), String(error));
          }
          assert.equal(firstComplete, !faulty.crashed());
          const second = await migrateLegacyTable(fixture.client, {
            ...options,
            backupFile: backupPath(fixture),
          });
          assert.equal(second.complete, true);
          assert.deepEqual(second.conflicts, []);
          assert.equal(second.migrated + second.skipped, items.length);
          assert.deepEqual(
            await normalizedSnapshot(fixture.client, fixture.target),
            expected(items),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});

Deno.test("a legacy table of more than 1 MB is scanned page by page and migrated completely", async () => {
  await withFixture(async (fixture) => {
    const items = Array.from({ length: 300 }, (_, i) =>
      legacyItem({
        version: `1.${Math.floor(i / 100)}.${i % 100}`,
        pubDate: "2025-08-14T10:00:00Z",
        processedTimestamp: "2025-08-14T10:05:00.000000",
        debUrl: `https://prod.download.desktop.kiro.dev/releases/kiro-${i}.deb`,
        actualFilename: `kiro-ide-${i}-stable-linux-x64.deb`,
        size: 150_000_000 + i,
        md5: i.toString(16).padStart(32, "0"),
        sha1: i.toString(16).padStart(40, "0"),
        sha256: i.toString(16).padStart(64, "0"),
        notes: `Release notes ${i}: ${"lorem ipsum dolor sit amet ".repeat(160)}`,
      }));
    await reset(fixture, items);
    let pages = 0;
    const counting: DynamoDbSender = {
      send: (async (command: unknown) => {
        const out = await (fixture.client.send as (c: unknown) => Promise<unknown>)(command);
        if (command instanceof ScanCommand && command.input.TableName === fixture.legacy) pages++;
        return out;
      }) as DynamoDbSender["send"],
    };
    const file = backupPath(fixture);
    const summary = await migrateLegacyTable(counting, {
      sourceTable: fixture.legacy,
      targetTable: fixture.target,
      defaults,
      backupFile: file,
    });
    assert.ok((await Deno.stat(file)).size > 1_000_000);
    assert.ok(pages >= 4, `expected the backup and verify scans to paginate, saw ${pages} pages`);
    assert.equal(summary.complete, true);
    assert.equal(summary.migrated, 300);
    assert.deepEqual(await normalizedSnapshot(fixture.client, fixture.target), expected(items));
  });
});

Deno.test("the transform adds only what is missing, keeps every attribute, and is idempotent", () => {
  fc.assert(
    fc.property(
      legacyEntry,
      fc.constantFrom("legacy", "canonical") as fc.Arbitrary<"legacy" | "canonical">,
      (item, poolLayout) => {
        const once = transformAndValidate(item, { defaults, poolLayout });
        for (const [name, value] of Object.entries(item)) assert.deepEqual(once[name], value, name);
        assert.deepEqual(transformAndValidate(once, { defaults, poolLayout }), once);
        assert.equal(once.package_id?.S, `kiro#${item.version?.S}`);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("the backup line encoding round-trips any item exactly, number text included", () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), attributeValue),
      (item) => {
        const line = JSON.stringify({ Item: encodeItem(item) });
        const decoded = decodeItem(JSON.parse(line).Item);
        assert.equal(JSON.stringify({ Item: encodeItem(decoded) }), line);
        assert.equal(itemFingerprint(decoded), itemFingerprint(item));
      },
    ),
    { numRuns: 500 },
  );
});
