/**
 * The publish history against the DynamoDB stand-in: entries whose lists do
 * not fit in one item (400 KB) are stored in parts, read whole, and never
 * half-written.
 */

import assert from "node:assert/strict";
import { DeleteCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import {
  HISTORY_PART_BYTES,
  type Publication,
  PublishHistory,
} from "../../lambda/store/history.ts";
import { type TestStack, withTestStack } from "../support/stack.ts";

function publication(listed: readonly string[], at: string): Publication {
  return {
    listed,
    published_at: at,
    started_by: "test",
    release_sha256: "0".repeat(64),
    pool_check: "full",
  };
}

/** `count` labels shaped like real identities (`NAME VERSION ARCH`). */
function labels(count: number, from = 0): string[] {
  return Array.from(
    { length: count },
    (_, i) => `kiro-cli-nightly 1.${Math.floor((from + i) / 7)}.${(from + i) % 7} amd64`,
  );
}

async function historyKeys(stack: TestStack, channel: string): Promise<string[]> {
  const keys: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await stack.clients.dynamo.send(
      new QueryCommand({
        TableName: stack.outputs.tableName,
        KeyConditionExpression: "package_id = :id",
        ExpressionAttributeValues: { ":id": `__history#${channel}` },
        ProjectionExpression: "architecture",
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    for (const item of page.Items ?? []) keys.push(item.architecture as string);
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return keys.sort();
}

Deno.test("a publish that adds 30,000 identities at once is recorded whole, in parts, and replays exactly", async () => {
  await withTestStack(async (stack) => {
    const history = new PublishHistory(stack.clients.dynamo, stack.outputs.tableName);
    const first = labels(30_000);
    const bytes = first.reduce((n, label) => n + label.length, 0);
    assert.ok(bytes > 400 * 1024, `the lists (${bytes} bytes) are more than one item holds`);

    const entry = await history.record("stable", publication(first, "2026-06-01T00:00:00.000Z"));
    assert.equal(entry.generation, 1);
    const keys = await historyKeys(stack, "stable");
    assert.equal(keys[0], "0000000001");
    assert.ok(
      keys.length >= 1 + Math.ceil(bytes / HISTORY_PART_BYTES),
      `parts: ${keys.join(", ")}`,
    );

    const kept = first.slice(10_000);
    const second = [...kept, ...labels(5, 30_000)];
    const next = await history.record("stable", publication(second, "2026-06-02T00:00:00.000Z"));
    assert.equal(next.generation, 2);
    assert.equal(next.removed.length, 10_000);
    assert.deepEqual(next.added, labels(5, 30_000).sort());

    const entries = await history.entries("stable");
    assert.deepEqual(entries.map((e) => e.generation), [1, 2]);
    assert.deepEqual(entries[0]!.added, [...first].sort());
    assert.equal("parts" in entries[0]!, false, "the pointer to the parts is not part of an entry");
    const live = await new PublishHistory(stack.clients.dynamo, stack.outputs.tableName)
      .live("stable");
    assert.deepEqual([...live.listed].sort(), [...second].sort());
  });
});

Deno.test("an entry's parts count only once the entry names them, and a missing part is an error naming it", async () => {
  await withTestStack(async (stack) => {
    const table = stack.outputs.tableName;
    const history = new PublishHistory(stack.clients.dynamo, table, { partBytes: 200 });
    await history.record("beta", publication(labels(12), "2026-06-01T00:00:00.000Z"));
    // What a publisher that died between its parts and its entry leaves.
    await stack.clients.dynamo.send(
      new PutCommand({
        TableName: table,
        Item: {
          package_id: "__history#beta",
          architecture: "0000000002#dead#0000",
          added: ["ghost 1.0 amd64"],
          removed: [],
        },
      }),
    );
    const entries = await history.entries("beta");
    assert.deepEqual(entries.map((e) => e.generation), [1]);
    assert.deepEqual(entries[0]!.added, labels(12).sort());

    const second = await history.record(
      "beta",
      publication(labels(3), "2026-06-02T00:00:00.000Z"),
    );
    assert.equal(second.generation, 2);
    assert.deepEqual(second.added, []);
    const live = await history.live("beta");
    assert.deepEqual([...live.listed].sort(), labels(3).sort());

    const firstPart = (await historyKeys(stack, "beta")).find((key) =>
      key.startsWith("0000000001#")
    )!;
    await stack.clients.dynamo.send(
      new DeleteCommand({
        TableName: table,
        Key: { package_id: "__history#beta", architecture: firstPart },
      }),
    );
    await assert.rejects(
      () => history.entries("beta"),
      /The publish history of beta is incomplete: generation 1 names \d+ parts and part 0 is not in the table .*; restore it from a backup of the table/,
    );
  });
});

Deno.test("a recorder that loses the race for a generation removes its parts and records the next one", async () => {
  await withTestStack(async (stack) => {
    const table = stack.outputs.tableName;
    const slow = new PublishHistory(stack.clients.dynamo, table, { partBytes: 200 });
    const fast = new PublishHistory(stack.clients.dynamo, table, { partBytes: 200 });
    await slow.live("stable"); // reads an empty history, kept for its record
    await fast.record("stable", publication(labels(10), "2026-06-01T00:00:00.000Z"));
    const lost = await slow.record(
      "stable",
      publication(labels(10, 5), "2026-06-01T00:00:01.000Z"),
    );
    assert.equal(lost.generation, 2);
    assert.deepEqual(lost.added, labels(5, 10).sort());
    assert.deepEqual(lost.removed, labels(5).sort());

    const keys = await historyKeys(stack, "stable");
    const ids = new Set(keys.filter((key) => key.includes("#")).map((key) => key.slice(0, 10)));
    assert.deepEqual([...ids].sort(), ["0000000001", "0000000002"]);
    const firstIds = new Set(
      keys.filter((key) => key.startsWith("0000000001#")).map((key) => key.split("#")[1]),
    );
    assert.equal(firstIds.size, 1, `one set of parts for generation 1: ${keys.join(", ")}`);
  });
});
