/**
 * A local state folder made by an older version of the program holds a
 * packages table keyed by `package_id` alone. The local stack refuses it, in
 * one line that says which folder to move away, and leaves it as it was.
 */

import assert from "node:assert/strict";
import type { Server } from "node:http";
import { join } from "node:path";
import dynalite from "dynalite";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { EnvironmentError } from "../../tasks/lib/env.ts";
import { LOCAL_NAMES, startLocalStack } from "../../tasks/lib/local_stack.ts";

/** Runs `fn` with a DynamoDB client on a dynalite that keeps its data in `path`. */
async function withDynalite<T>(
  path: string,
  fn: (client: DynamoDBClient) => Promise<T>,
): Promise<T> {
  const server: Server = dynalite({ path, createTableMs: 0 });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    return await fn(client);
  } finally {
    client.destroy();
    await new Promise<void>((resolve, reject) =>
      server.close((error?: Error) => (error ? reject(error) : resolve()))
    );
  }
}

/**
 * A local state folder as the previous version left it: `dynamodb/` holding
 * the packages table keyed by `package_id` (HASH) only, with one record.
 */
async function oldStateDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-old-local-" });
  await Deno.mkdir(join(dir, "dynamodb"));
  await withDynalite(join(dir, "dynamodb"), async (client) => {
    await client.send(
      new CreateTableCommand({
        TableName: LOCAL_NAMES.tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "package_id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "package_id", KeyType: "HASH" }],
      }),
    );
    for (;;) {
      const { Table } = await client.send(
        new DescribeTableCommand({ TableName: LOCAL_NAMES.tableName }),
      );
      if (Table?.TableStatus === "ACTIVE") break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await client.send(
      new PutItemCommand({
        TableName: LOCAL_NAMES.tableName,
        Item: { package_id: { S: "kiro#1.0" }, version: { S: "1.0" } },
      }),
    );
  });
  return dir;
}

/** The key schema of the packages table in `dir`, and whether its old record is still there. */
async function stateOf(dir: string): Promise<{ key: string; record: boolean }> {
  return await withDynalite(join(dir, "dynamodb"), async (client) => {
    const { Table } = await client.send(
      new DescribeTableCommand({ TableName: LOCAL_NAMES.tableName }),
    );
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: LOCAL_NAMES.tableName,
        Key: { package_id: { S: "kiro#1.0" } },
      }),
    );
    return {
      key: (Table?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(","),
      record: Item !== undefined,
    };
  });
}

Deno.test("the local stack refuses a state folder whose packages table has the old key, in one line naming the folder", async () => {
  const dir = await oldStateDir();
  try {
    const error = await startLocalStack({ dir, ports: { dynamodb: 0, s3: 0 } }).then(
      async (stack) => {
        await stack.close();
        return assert.fail("the local stack started on a table keyed by package_id alone");
      },
      (error: unknown) => error,
    );
    assert.ok(error instanceof EnvironmentError, String(error));
    assert.equal(error.reason, "local_state");
    assert.equal(error.message.includes("\n"), false, error.message);
    assert.ok(error.message.includes(join(dir, "dynamodb")), error.message);
    assert.match(error.message, /move .* away/);
    assert.match(error.message, /package_id:HASH/);
    // Refused, not repaired: the old table and its record are as they were.
    assert.deepEqual(await stateOf(dir), { key: "package_id:HASH", record: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a task on an old local state folder prints the one line to move it away, no stack trace, and exits 1", async () => {
  const dir = await oldStateDir();
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "tasks/list.ts", "--env", "local"],
      cwd: new URL("../../", import.meta.url),
      env: { KIRO_LOCAL_DIR: dir, KIRO_LOCAL_DYNAMODB_PORT: "0", KIRO_LOCAL_S3_PORT: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 1, stderr);
    assert.equal(new TextDecoder().decode(run.stdout), "");
    const lines = stderr.trimEnd().split("\n");
    const refusal = lines.filter((line) => line.includes("move"));
    assert.equal(refusal.length, 1, stderr);
    assert.ok(refusal[0]!.includes(join(dir, "dynamodb")), stderr);
    assert.match(refusal[0]!, /^list: The local state in .* away/);
    assert.equal(lines.at(-1), refusal[0], stderr);
    assert.doesNotMatch(stderr, /^\s+at /m);
    assert.doesNotMatch(stderr, /Uncaught|EnvironmentError/);
    assert.deepEqual(await stateOf(dir), { key: "package_id:HASH", record: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
