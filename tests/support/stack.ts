/**
 * An ephemeral local stack for integration tests: dynalite (in memory) and
 * s3rver (in a temp folder) on free ports of 127.0.0.1, with the packages
 * table and the bucket created, and a fresh Ed25519 signing key (armored
 * private key) at `outputs.signingKeySecretId`.
 *
 * @example
 * ```ts
 * const stack = await startTestStack();
 * try {
 *   await stack.store.put(record);
 * } finally {
 *   await stack.close();
 * }
 * ```
 *
 * @module
 */

import { DeleteCommand, paginateScan } from "@aws-sdk/lib-dynamodb";
import { type AwsClients, awsClients } from "../../lambda/aws/clients.ts";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { PackageStore } from "../../lambda/store/package_store.ts";
import { startLocalStack } from "../../tasks/lib/local_stack.ts";

/** A running test stack. */
export interface TestStack {
  /** The stack's outputs (environment `local`, endpoints on random ports). */
  readonly outputs: StackOutputs;
  /** The AWS clients for it (created on first use, destroyed by `close`). */
  readonly clients: AwsClients;
  /** The package store over its table. */
  readonly store: PackageStore;
  /** The temp folder holding its state (removed by `close`). */
  readonly dir: string;
  /** Deletes every item of the packages table (between property-test runs). */
  clearTable(): Promise<void>;
  /** Stops the servers, destroys the clients, removes the temp folder. */
  close(): Promise<void>;
}

/** How to start a test stack. */
export interface TestStackOptions {
  /** Makes the signing key file at the given path (default: a new Ed25519 key). */
  ensureSigningKey?: (path: string) => Promise<void>;
}

/** Starts an ephemeral stack (see the module docs). Always `close()` it. */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-test-stack-" });
  let stack;
  try {
    stack = await startLocalStack({
      dir,
      persist: false,
      ports: { dynamodb: 0, s3: 0 },
      ...(options.ensureSigningKey !== undefined
        ? { ensureSigningKey: options.ensureSigningKey }
        : {}),
    });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  const { outputs } = stack;
  const clients = awsClients(outputs);
  const store = new PackageStore(clients.dynamo, outputs.tableName);
  const running = stack;
  return {
    outputs,
    clients,
    store,
    dir,
    async clearTable() {
      const pages = paginateScan({ client: clients.dynamo }, {
        TableName: outputs.tableName,
        ProjectionExpression: "package_id, architecture",
      });
      const keys: { package_id: string; architecture: string }[] = [];
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          keys.push({
            package_id: item.package_id as string,
            architecture: item.architecture as string,
          });
        }
      }
      await Promise.all(
        keys.map((key) =>
          clients.dynamo.send(
            new DeleteCommand({ TableName: outputs.tableName, Key: key }),
          )
        ),
      );
    },
    async close() {
      clients.destroy();
      await running.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Runs `fn` with a fresh test stack ({@linkcode startTestStack}) and closes
 * the stack afterwards, also when `fn` throws.
 */
export async function withTestStack<T>(
  fn: (stack: TestStack) => Promise<T>,
  options: TestStackOptions = {},
): Promise<T> {
  const stack = await startTestStack(options);
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}
