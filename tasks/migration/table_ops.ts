/**
 * The DynamoDB operations the migration and restore are built from: describe a
 * table's key, scan it page by page, read keys in batches, write an item only
 * if its key is free, delete in batches — each retrying throttling and
 * unprocessed items with exponential backoff and full jitter.
 *
 * Everything works on the low-level client's `AttributeValue` items, so values
 * keep their exact DynamoDB types.
 *
 * @module
 */

import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { type Item, itemFingerprint } from "./attribute_value.ts";
import { MigrationError } from "./errors.ts";

/** The part of a DynamoDB client the migration uses (lets tests inject faults). */
export type DynamoDbSender = Pick<DynamoDBClient, "send">;

/** How failed or partial requests are retried. */
export interface RetryOptions {
  /** Attempts per request, the first included (default 8). */
  attempts?: number;
  /** First backoff ceiling in milliseconds (default 50). */
  baseDelayMs?: number;
  /** Largest backoff ceiling in milliseconds (default 5000). */
  maxDelayMs?: number;
  /** Waits `ms` milliseconds (default: a timer); tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "LimitExceededException",
]);

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The wait before retry number `attempt` (1-based): "full jitter", a random
 * time up to `min(max, base·2^(attempt-1))`, which spreads retries of many
 * clients apart (AWS Architecture Blog, "Exponential Backoff And Jitter").
 */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? 50;
  const max = options.maxDelayMs ?? 5000;
  return Math.random() * Math.min(max, base * 2 ** (attempt - 1));
}

/** Whether an error from the SDK is worth retrying (throttling, server-side). */
export function isRetryable(error: unknown): boolean {
  return error instanceof Error && RETRYABLE.has(error.name);
}

/** Calls `send` again after throttling or server errors, with backoff. */
async function withRetry<T>(
  what: string,
  call: () => Promise<T>,
  retry: RetryOptions,
): Promise<T> {
  const attempts = retry.attempts ?? 8;
  const sleep = retry.sleep ?? defaultSleep;
  for (let attempt = 1;; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (attempt >= attempts) {
        throw new MigrationError(
          "retries-exhausted",
          `${what} still failed after ${attempt} attempts (${
            (error as Error).name
          }): the table is throttled or unavailable, run again later`,
          { cause: error },
        );
      }
      await sleep(backoffDelay(attempt, retry));
    }
  }
}

/** A table's partition key, and whether it has a sort key. */
export interface TableKey {
  /** The partition key attribute's name. */
  name: string;
  /** Its type: `S`, `N` or `B`. */
  type: string;
  /** The sort key's name, when the table has one. */
  sortKey?: string;
}

/**
 * The key schema of `table`, or `undefined` when the table does not exist.
 *
 * @throws the SDK's error for anything but a missing table (credentials, network).
 */
export async function describeTableKey(
  client: DynamoDbSender,
  table: string,
  options: { retry?: RetryOptions } = {},
): Promise<TableKey | undefined> {
  try {
    const out = await withRetry(
      `DescribeTable ${table}`,
      () => client.send(new DescribeTableCommand({ TableName: table })),
      options.retry ?? {},
    );
    const schema = out.Table?.KeySchema ?? [];
    const hash = schema.find((key) => key.KeyType === "HASH");
    const range = schema.find((key) => key.KeyType === "RANGE");
    const type = out.Table?.AttributeDefinitions?.find((def) =>
      def.AttributeName === hash?.AttributeName
    )?.AttributeType;
    if (hash?.AttributeName === undefined || type === undefined) {
      throw new Error(`DescribeTable ${table} returned no partition key`);
    }
    return {
      name: hash.AttributeName,
      type,
      ...(range?.AttributeName === undefined ? {} : { sortKey: range.AttributeName }),
    };
  } catch (error) {
    if (error instanceof Error && error.name === "ResourceNotFoundException") return undefined;
    throw error;
  }
}

/**
 * Every item of `table`, one page (≤ 1 MB) at a time, following
 * `LastEvaluatedKey` until the scan is done. Reads are strongly consistent.
 */
export async function* scanPages(
  client: DynamoDbSender,
  table: string,
  options: { retry?: RetryOptions; pageSize?: number } = {},
): AsyncGenerator<Item[]> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await withRetry(
      `Scan ${table}`,
      () =>
        client.send(
          new ScanCommand({
            TableName: table,
            ConsistentRead: true,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
            ...(options.pageSize === undefined ? {} : { Limit: options.pageSize }),
          }),
        ),
      options.retry ?? {},
    );
    yield page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}

/** Every item of `table` (see {@linkcode scanPages}). */
export async function scanAll(
  client: DynamoDbSender,
  table: string,
  options: { retry?: RetryOptions; pageSize?: number } = {},
): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of scanPages(client, table, options)) items.push(...page);
  return items;
}

/** The key part of `item` for a table keyed by `key`. */
export function keyOf(item: Item, key: TableKey): Item {
  const out: Item = {};
  const hash = item[key.name];
  if (hash !== undefined) out[key.name] = hash;
  if (key.sortKey !== undefined) {
    const range = item[key.sortKey];
    if (range !== undefined) out[key.sortKey] = range;
  }
  return out;
}

/**
 * The items stored under `keys` in `table`, by {@linkcode itemFingerprint} of
 * the key; keys with no item are absent from the map. Reads are strongly
 * consistent, 100 keys per request; `UnprocessedKeys` are asked again with
 * backoff until none are left.
 *
 * @throws {MigrationError} `retries-exhausted` when keys stay unprocessed.
 */
export async function batchGet(
  client: DynamoDbSender,
  table: string,
  keys: Item[],
  options: { key: TableKey; retry?: RetryOptions },
): Promise<Map<string, Item>> {
  const retry = options.retry ?? {};
  const found = new Map<string, Item>();
  const unique = new Map(keys.map((key) => [itemFingerprint(key), key]));
  const all = [...unique.values()];
  for (let i = 0; i < all.length; i += 100) {
    let pending: Item[] = all.slice(i, i + 100);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await withRetry(
        `BatchGetItem ${table}`,
        () =>
          client.send(
            new BatchGetItemCommand({
              RequestItems: { [table]: { Keys: pending, ConsistentRead: true } },
            }),
          ),
        retry,
      );
      for (const item of out.Responses?.[table] ?? []) {
        found.set(itemFingerprint(keyOf(item, options.key)), item);
      }
      pending = out.UnprocessedKeys?.[table]?.Keys ?? [];
      if (pending.length === 0) break;
      if (attempt >= (retry.attempts ?? 8)) {
        throw new MigrationError(
          "retries-exhausted",
          `BatchGetItem on ${table} left ${pending.length} keys unprocessed after ${attempt} attempts: the table is throttled, retry later`,
        );
      }
      await (retry.sleep ?? defaultSleep)(backoffDelay(attempt, retry));
    }
  }
  return found;
}

/** What {@linkcode putIfAbsent} did. */
export type PutOutcome = "written" | "exists";

/**
 * Writes `item` only if no item has its key
 * (`attribute_not_exists(<partition key>)`); `"exists"` when one has. Never
 * overwrites, so it is safe against concurrent writers.
 */
export async function putIfAbsent(
  client: DynamoDbSender,
  table: string,
  item: Item,
  options: { key: TableKey; retry?: RetryOptions },
): Promise<PutOutcome> {
  try {
    await withRetry(
      `PutItem ${table}`,
      () =>
        client.send(
          new PutItemCommand({
            TableName: table,
            Item: item,
            ConditionExpression: "attribute_not_exists(#key)",
            ExpressionAttributeNames: { "#key": options.key.name },
          }),
        ),
      options.retry ?? {},
    );
    return "written";
  } catch (error) {
    if (error instanceof Error && error.name === "ConditionalCheckFailedException") return "exists";
    throw error;
  }
}

/** Writes `item`, replacing whatever has its key. */
export async function putItem(
  client: DynamoDbSender,
  table: string,
  item: Item,
  options: { retry?: RetryOptions } = {},
): Promise<void> {
  await withRetry(
    `PutItem ${table}`,
    () => client.send(new PutItemCommand({ TableName: table, Item: item })),
    options.retry ?? {},
  );
}

/** The item stored under `key` (strongly consistent read), or `undefined`. */
export async function getItem(
  client: DynamoDbSender,
  table: string,
  key: Item,
  options: { retry?: RetryOptions } = {},
): Promise<Item | undefined> {
  const out = await withRetry(
    `GetItem ${table}`,
    () => client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true })),
    options.retry ?? {},
  );
  return out.Item;
}

/**
 * Deletes the items under `keys` from `table`, 25 per `BatchWriteItem`,
 * retrying `UnprocessedItems` with backoff. Calls `onDeleted(n)` as batches
 * complete.
 *
 * @throws {MigrationError} `retries-exhausted` when items stay unprocessed.
 */
export async function batchDelete(
  client: DynamoDbSender,
  table: string,
  keys: Item[],
  options: { retry?: RetryOptions; onDeleted?: (count: number) => void } = {},
): Promise<void> {
  const retry = options.retry ?? {};
  for (let i = 0; i < keys.length; i += 25) {
    let pending = keys.slice(i, i + 25).map((key) => ({ DeleteRequest: { Key: key } }));
    for (let attempt = 1;; attempt++) {
      const batch = pending;
      const out = await withRetry(
        `BatchWriteItem ${table}`,
        () => client.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } })),
        retry,
      );
      const left = out.UnprocessedItems?.[table] ?? [];
      options.onDeleted?.(batch.length - left.length);
      if (left.length === 0) break;
      if (attempt >= (retry.attempts ?? 8)) {
        throw new MigrationError(
          "retries-exhausted",
          `BatchWriteItem on ${table} left ${left.length} deletes unprocessed after ${attempt} attempts: the table is throttled, retry later`,
        );
      }
      pending = left.flatMap((request) =>
        request.DeleteRequest?.Key === undefined
          ? []
          : [{ DeleteRequest: { Key: request.DeleteRequest.Key } }]
      );
      await (retry.sleep ?? defaultSleep)(backoffDelay(attempt, retry));
    }
  }
}

/**
 * Runs `work` on every element with at most `concurrency` calls in flight,
 * in order of the elements. The first error stops new calls and is thrown
 * once the calls in flight have settled.
 */
export async function forEachConcurrent<T>(
  elements: readonly T[],
  work: (element: T, index: number) => Promise<void>,
  options: { concurrency: number },
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < elements.length) {
      const index = next++;
      try {
        await work(elements[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Array.from(
    { length: Math.max(1, Math.min(options.concurrency, elements.length)) },
    worker,
  );
  await Promise.all(workers);
  if (failure !== undefined) throw failure.error;
}
