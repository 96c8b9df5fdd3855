/**
 * A publisher in a process of its own, for `lease_takeover_test.ts`: takes the
 * publisher lease of a test stack's table with `withLease` (renewed in the
 * background), prints `held HOLDER` on stdout, and holds it until killed.
 *
 * Usage: `deno run --allow-all tests/integration/lease_holder_process.ts OUTPUTS_JSON [DURATION_MS]`
 *
 * @module
 */

import { awsClients } from "../../lambda/aws/clients.ts";
import { parseStackOutputs } from "../../tasks/lib/stack_outputs.ts";
import { withLease } from "../../lambda/store/lease.ts";

const [outputsJson, durationText] = Deno.args;
if (outputsJson === undefined) {
  console.error("Usage: lease_holder_process.ts OUTPUTS_JSON [DURATION_MS]");
  Deno.exit(2);
}
const outputs = parseStackOutputs(outputsJson, { source: "the command line" });
const table = { client: awsClients(outputs).dynamo, tableName: outputs.tableName };
await withLease(table, async (held) => {
  console.log(`held ${held.holder}`);
  // Holds the lease until killed (or until it is lost).
  await new Promise((resolve) => held.signal.addEventListener("abort", resolve));
}, {
  label: `child pid ${Deno.pid}`,
  ...(durationText === undefined ? {} : { durationMs: Number(durationText) }),
});
