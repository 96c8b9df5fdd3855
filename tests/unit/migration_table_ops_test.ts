import assert from "node:assert/strict";
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { Item } from "../../tasks/migration/attribute_value.ts";
import { MigrationError } from "../../tasks/migration/errors.ts";
import {
  backoffDelay,
  batchDelete,
  batchGet,
  type DynamoDbSender,
  forEachConcurrent,
  putIfAbsent,
} from "../../tasks/migration/table_ops.ts";
import { progressPrinter } from "../../tasks/migration/report.ts";

const key = { name: "package_id", type: "S" };

function fake(handler: (command: unknown, call: number) => unknown): DynamoDbSender & {
  calls: unknown[];
} {
  const calls: unknown[] = [];
  return {
    calls,
    send: (async (command: unknown) => {
      calls.push(command);
      return await handler(command, calls.length);
    }) as DynamoDbSender["send"],
  };
}

function throttled(): Error {
  return Object.assign(new Error("Rate exceeded"), {
    name: "ProvisionedThroughputExceededException",
  });
}

const ids = (n: number): Item[] =>
  Array.from({ length: n }, (_, i) => ({ package_id: { S: `kiro#${i}` } }));

Deno.test("batchGet asks unprocessed keys again with growing backoff until none are left", async () => {
  const waits: number[] = [];
  const client = fake((command, call) => {
    assert.ok(command instanceof BatchGetItemCommand);
    const keys = command.input.RequestItems?.t?.Keys ?? [];
    assert.equal(command.input.RequestItems?.t?.ConsistentRead, true);
    // Answer one key per call, leave the rest unprocessed.
    return {
      Responses: { t: keys.slice(0, 1).map((k) => ({ ...k, n: { N: String(call) } })) },
      UnprocessedKeys: keys.length > 1 ? { t: { Keys: keys.slice(1) } } : {},
    };
  });
  const found = await batchGet(client, "t", ids(4), {
    key,
    retry: { attempts: 10, baseDelayMs: 100, sleep: (ms) => (waits.push(ms), Promise.resolve()) },
  });
  assert.equal(found.size, 4);
  assert.equal(client.calls.length, 4);
  assert.equal(waits.length, 3);
  waits.forEach((ms, i) => assert.ok(ms >= 0 && ms <= 100 * 2 ** i, `wait ${i}: ${ms}`));
});

Deno.test("batchGet reads at most 100 keys per request", async () => {
  const sizes: number[] = [];
  const client = fake((command) => {
    const keys = (command as BatchGetItemCommand).input.RequestItems?.t?.Keys ?? [];
    sizes.push(keys.length);
    return { Responses: { t: [] } };
  });
  await batchGet(client, "t", ids(250), { key });
  assert.deepEqual(sizes, [100, 100, 50]);
});

Deno.test("keys that stay unprocessed end in a clear error after the last attempt", async () => {
  const client = fake((command) => ({
    Responses: { t: [] },
    UnprocessedKeys: { t: { Keys: (command as BatchGetItemCommand).input.RequestItems?.t?.Keys } },
  }));
  await assert.rejects(
    batchGet(client, "t", ids(3), { key, retry: { attempts: 3, sleep: () => Promise.resolve() } }),
    (error: unknown) =>
      error instanceof MigrationError && error.kind === "retries-exhausted" &&
      error.message.includes("left 3 keys unprocessed after 3 attempts"),
  );
  assert.equal(client.calls.length, 3);
});

Deno.test("throttled writes are retried, conditional, and report an existing key", async () => {
  const client = fake((command, call) => {
    assert.ok(command instanceof PutItemCommand);
    assert.equal(command.input.ConditionExpression, "attribute_not_exists(#key)");
    assert.deepEqual(command.input.ExpressionAttributeNames, { "#key": "package_id" });
    if (call <= 2) throw throttled();
    if (call === 4) {
      throw Object.assign(new Error("The conditional request failed"), {
        name: "ConditionalCheckFailedException",
      });
    }
    return {};
  });
  const retry = { sleep: () => Promise.resolve() };
  assert.equal(await putIfAbsent(client, "t", ids(1)[0] as Item, { key, retry }), "written");
  assert.equal(await putIfAbsent(client, "t", ids(1)[0] as Item, { key, retry }), "exists");
  assert.equal(client.calls.length, 4);
});

Deno.test("errors that are not throttling are not retried", async () => {
  const client = fake(() => {
    throw Object.assign(new Error("Item size has exceeded the maximum allowed size"), {
      name: "ValidationException",
    });
  });
  await assert.rejects(
    putIfAbsent(client, "t", ids(1)[0] as Item, { key, retry: { sleep: () => Promise.resolve() } }),
    /maximum allowed size/,
  );
  assert.equal(client.calls.length, 1);
});

Deno.test("batchDelete sends 25 deletes per request and retries the unprocessed ones", async () => {
  const sizes: number[] = [];
  let deleted = 0;
  const client = fake((command, call) => {
    assert.ok(command instanceof BatchWriteItemCommand);
    const requests = command.input.RequestItems?.t ?? [];
    sizes.push(requests.length);
    return { UnprocessedItems: call === 1 ? { t: requests.slice(20) } : {} };
  });
  await batchDelete(client, "t", ids(30), {
    retry: { sleep: () => Promise.resolve() },
    onDeleted: (n) => (deleted += n),
  });
  assert.deepEqual(sizes, [25, 5, 5]);
  assert.equal(deleted, 30);
});

Deno.test("the backoff ceiling doubles per attempt up to the maximum", () => {
  for (let attempt = 1; attempt <= 12; attempt++) {
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(attempt, { baseDelayMs: 10, maxDelayMs: 1000 });
      assert.ok(delay >= 0 && delay <= Math.min(1000, 10 * 2 ** (attempt - 1)));
    }
  }
});

Deno.test("forEachConcurrent keeps at most N calls in flight and rethrows the first failure", async () => {
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  await forEachConcurrent([...Array(20).keys()], async (n) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    seen.push(n);
    inFlight--;
  }, { concurrency: 4 });
  assert.equal(most, 4);
  assert.deepEqual(seen.sort((a, b) => a - b), [...Array(20).keys()]);
  await assert.rejects(
    forEachConcurrent(
      [1, 2, 3],
      (n) => n === 2 ? Promise.reject(new Error("two")) : Promise.resolve(),
      {
        concurrency: 2,
      },
    ),
    /two/,
  );
});

Deno.test("the progress display redraws one line on a terminal and writes quarters elsewhere", () => {
  const tty: string[] = [];
  const onTty = progressPrinter((text) => tty.push(text), { isTty: true, width: 10 });
  onTty.update({ phase: "write", done: 0, total: 4 });
  onTty.update({ phase: "write", done: 4, total: 4 });
  onTty.finish();
  assert.equal(tty[0], "\r\x1b[KWriting items [----------] 0/4");
  assert.equal(tty[1], "\r\x1b[KWriting items [##########] 4/4");
  assert.equal(tty.at(-1), "\n");
  const plain: string[] = [];
  const log = progressPrinter((text) => plain.push(text), { isTty: false, width: 4 });
  for (let done = 0; done <= 100; done++) log.update({ phase: "verify", done, total: 100 });
  log.finish();
  assert.deepEqual(plain, [
    "Verifying [----] 0/100\n",
    "Verifying [#---] 25/100\n",
    "Verifying [##--] 50/100\n",
    "Verifying [###-] 75/100\n",
    "Verifying [####] 100/100\n",
  ]);
  assert.ok(plain.every((line) => !line.includes("\r")));
});
