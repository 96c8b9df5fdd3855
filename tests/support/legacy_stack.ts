/**
 * A test stack with the legacy table, for the migration tests.
 *
 * @module
 */

import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { Item } from "../../tasks/migration/attribute_value.ts";
import { ensureLegacyTable } from "../../tasks/migration/legacy_table.ts";
import { startTestStack, type TestStack } from "./stack.ts";

/** Runs `fn` with a test stack whose legacy table exists, and a temp folder; both removed after. */
export async function withLegacyStack(
  fn: (stack: TestStack, dir: string) => Promise<void>,
): Promise<void> {
  const stack = await startTestStack();
  const dir = await Deno.makeTempDir({ prefix: "kiro-migration-" });
  try {
    await ensureLegacyTable(stack.clients.dynamoRaw, stack.outputs.legacyTableName);
    await fn(stack, dir);
  } finally {
    await stack.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `items` to the stack's legacy table. */
export async function putLegacy(stack: TestStack, items: readonly Item[]): Promise<void> {
  for (const item of items) {
    await stack.clients.dynamoRaw.send(
      new PutItemCommand({ TableName: stack.outputs.legacyTableName, Item: item }),
    );
  }
}
