/**
 * The publisher lease as the Lambda runs it: `lambda/store/lease.ts` and the
 * AWS clients bundled with esbuild and run under Node 22 against the test
 * stack's DynamoDB stand-in. A publish longer than the lease keeps it by
 * renewing it in the background, and a dead local holder is recognised by
 * Node's `process.kill(pid, 0)` as well.
 */

import assert from "node:assert/strict";
import { readLease } from "../../lambda/store/lease.ts";
import { bundleForNode22, node22Missing, runJsonUnderNode22 } from "../support/node22.ts";
import { withTestStack } from "../support/stack.ts";

const lambda = new URL("../../lambda/", import.meta.url).pathname;

// The script Node runs: a "publish" of four lease lengths under withLease,
// then a takeover of a lease left by a dead process of this host.
const ENTRY = `
import { hostname } from "node:os";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { awsClients } from "${lambda}aws/clients.ts";
import {
  acquireLease, LeaseBusyError, PUBLISHER_LEASE_KEY, readLease, releaseLease, withLease,
} from "${lambda}store/lease.ts";

const outputs = JSON.parse(process.argv[2]);
const clients = awsClients(outputs);
const table = { client: clients.dynamo, tableName: outputs.tableName };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const publish = await withLease(table, async (held) => {
  const first = await readLease(table);
  await sleep(2000);
  const last = await readLease(table);
  let intruder = "taken";
  try {
    await acquireLease(table, { label: "intruder" });
  } catch (error) {
    intruder = error instanceof LeaseBusyError ? "refused" : String(error);
  }
  return {
    aborted: held.signal.aborted,
    holderKept: last.holder === held.holder,
    expiryMovedMs: last.expiresAt - first.expiresAt,
    intruder,
  };
}, { label: "lambda test", durationMs: 500 });

await table.client.send(new PutCommand({
  TableName: table.tableName,
  Item: {
    ...PUBLISHER_LEASE_KEY,
    holder: "dead local publisher",
    acquired_at: Date.now(),
    expires_at: Date.now() + 60000,
    host: hostname(),
    pid: 2 ** 31 - 1,
  },
}));
const taker = await acquireLease(table, { label: "taker", takeOverDeadLocalHolders: true });
await releaseLease(taker);
clients.destroy();
console.log(JSON.stringify({
  node: process.version,
  publish,
  takenOverFrom: taker.takenOverFrom?.holder ?? null,
}));
`;

Deno.test({
  name:
    "under Node 22 a publish longer than its lease keeps it, and a dead local holder is taken over",
  ignore: node22Missing("the publisher lease's Node 22 test"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "lease-node22-" });
    try {
      const bundle = await bundleForNode22(ENTRY, { dir });
      await withTestStack(async (stack) => {
        const result = await runJsonUnderNode22(bundle, [JSON.stringify(stack.outputs)]) as {
          publish: {
            aborted: boolean;
            holderKept: boolean;
            expiryMovedMs: number;
            intruder: string;
          };
          takenOverFrom: string | null;
        };
        assert.deepEqual(
          { ...result.publish, expiryMovedMs: result.publish.expiryMovedMs >= 1500 },
          { aborted: false, holderKept: true, expiryMovedMs: true, intruder: "refused" },
        );
        assert.equal(result.takenOverFrom, "dead local publisher");
        assert.equal(
          await readLease({ client: stack.clients.dynamo, tableName: stack.outputs.tableName }),
          undefined,
          "every lease released",
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
