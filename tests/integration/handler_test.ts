import type { PoolCheckScope } from "../../lambda/store/history.ts";
import assert from "node:assert/strict";
import { createHandler } from "../../lambda/handler.ts";
import { silentLogger } from "../../lambda/observability/logger.ts";
import { createMetrics } from "../../lambda/observability/metrics.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { objectStoreFor, rebuildDependencies } from "../../lambda/dependencies.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";
import { startTestStack } from "../support/stack.ts";

Deno.test("the handler force-rebuilds the local stack in-process, and reports a failure as 500", async () => {
  const stack = await startTestStack();
  try {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const records = await seedPool(objects, [
      syntheticRecord({ name: "kiro", version: "1.0", architecture: "amd64" }),
      syntheticRecord({ name: "kiro-repo", version: "1.0", architecture: "all" }),
    ]);
    for (const record of records) await stack.store.put(record);
    const deps = rebuildDependencies(stack.outputs, stack.clients, {
      keys: await testSigningKeys(),
    });
    const metrics = createMetrics({ namespace: "Test", serviceName: "test" });
    metrics.publishStoredMetrics = () => {
      metrics.clearMetrics();
      return metrics;
    };
    let poolCheckScope: PoolCheckScope = "changed";
    const handler = createHandler({
      forceRebuild: () => forceRebuild({ ...deps, poolCheckScope }),
      logger: silentLogger(),
      metrics,
    });

    const ok = await handler({ force_rebuild: true }, { awsRequestId: "req-1" });
    assert.equal(ok.statusCode, 200, ok.body);
    const body = JSON.parse(ok.body);
    assert.equal(body.packages, 2);
    assert.ok(body.written > 10);
    assert.match(body.message, /Rebuilt the repository with 2 packages/);

    // A pool object lost behind our back: the (daily) full pool check finds it.
    await objects.delete(records[0]!.pool_key);
    poolCheckScope = "full";
    const failed = await handler({ force_rebuild: true });
    assert.equal(failed.statusCode, 500);
    assert.match(JSON.parse(failed.body).error, /kiro#1\.0 .* is not in the bucket/);

    await seedPool(objects, [
      syntheticRecord({ name: "kiro", version: "1.0", architecture: "amd64" }),
    ]);
    const again = await handler({ force_rebuild: true });
    assert.equal(again.statusCode, 200);
    assert.equal(JSON.parse(again.body).written, 6, "only the Release files of both channels");
    assert.deepEqual(
      JSON.parse(again.body).channels.map((channel: { channel: string }) => channel.channel),
      ["stable", "beta"],
    );
  } finally {
    await stack.close();
  }
});
