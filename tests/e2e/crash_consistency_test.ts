/**
 * Crash consistency: the publisher is stopped after its k-th write, for every
 * k, and a real `apt-get update --error-on=any` run against the bucket (served
 * by the S3 stand-in's HTTP) must succeed and see either the old repository
 * or the new one. Re-running the publish then completes it.
 */

import assert from "node:assert/strict";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { InjectedFault, InstrumentedObjectStore } from "../support/memory_object_store.ts";
import { publishRepository } from "../../lambda/publish/publisher.ts";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import { publicKeyring } from "../../lambda/signing/keys.ts";
import { type AptUpdateResult, describeRun, openApt } from "../support/apt.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";
import { startTestStack } from "../support/stack.ts";
import { missingTools } from "../support/tools.ts";

/** The `name=version:arch` entries apt stored, sorted. */
function seen(update: AptUpdateResult): string[] {
  const out: string[] = [];
  for (const list of update.lists) {
    for (const stanza of list.text.split(/\n\n+/)) {
      const name = /^Package: (.+)$/m.exec(stanza)?.[1];
      const version = /^Version: (.+)$/m.exec(stanza)?.[1];
      if (name !== undefined && version !== undefined) {
        out.push(`${name}=${version}:${list.architecture}`);
      }
    }
  }
  return out.sort();
}

function expected(records: readonly PackageRecord[]): string[] {
  return ["amd64", "arm64"].flatMap((arch) =>
    records.filter((r) => r.architecture === arch || r.architecture === "all")
      .map((r) => `${r.package_name}=${r.version}:${arch}`)
  ).sort();
}

Deno.test({
  name: "apt-get update sees the old or the new repository whenever the publisher stops",
  ignore: missingTools(["apt-get"], { root: true }),
  async fn() {
    const stack = await startTestStack();
    try {
      const keys = await testSigningKeys();
      const s3 = objectStoreFor(stack.outputs, stack.clients);
      const oldItems = [
        syntheticRecord({ name: "kiro", version: "1.0", architecture: "amd64" }),
        syntheticRecord({ name: "kiro-cli", version: "0.9", architecture: "arm64" }),
        syntheticRecord({ name: "kiro-repo", version: "1.0", architecture: "all" }),
      ];
      const newItems = [
        ...oldItems,
        syntheticRecord({ name: "kiro", version: "1.1", architecture: "amd64" }),
        syntheticRecord({ name: "kiro-cli", version: "1.0", architecture: "arm64" }),
        syntheticRecord({ name: "kiro-repo", version: "1.1", architecture: "all" }),
      ];
      await seedPool(s3, newItems);
      const oldRecords = oldItems.map((i) => i.record);
      const newRecords = newItems.map((i) => i.record);
      const options = { keys, repoUrl: stack.outputs.repoUrl };
      const resetToOld = async () => {
        for await (const object of s3.list("")) {
          if (!object.key.startsWith("pool/")) await s3.delete(object.key);
        }
        await publishRepository(oldRecords, { ...options, objects: s3 });
      };

      const apt = {
        repoUrl: stack.outputs.repoUrl,
        keyring: publicKeyring(keys),
        architectures: ["amd64", "arm64"],
      };
      let completedAt: number | undefined;
      const views = { old: 0, new: 0 };
      for (let k = 0; completedAt === undefined; k++) {
        assert.ok(k < 200, "the publish never completed");
        await resetToOld();
        const session = await openApt(apt);
        try {
          const before = await session.update();
          assert.ok(before.success, describeRun(before));
          assert.deepEqual(seen(before), expected(oldRecords));

          const crashing = new InstrumentedObjectStore(s3, { failAfterWrites: k });
          try {
            await publishRepository(newRecords, { ...options, objects: crashing });
            completedAt = k;
          } catch (error) {
            if (!(error instanceof InjectedFault)) throw error;
          }

          const during = await session.update();
          assert.ok(during.success, `after ${k} writes: ${describeRun(during)}`);
          const view = JSON.stringify(seen(during));
          if (view === JSON.stringify(expected(oldRecords))) views.old++;
          else if (view === JSON.stringify(expected(newRecords))) views.new++;
          else assert.fail(`after ${k} writes apt saw a mix: ${view}`);

          await publishRepository(newRecords, { ...options, objects: s3 });
          // No waiting here: apt revalidates InRelease with If-Modified-Since and
          // Last-Modified has one-second resolution, so the publisher itself makes sure
          // a new InRelease is not written in the same second as the one it replaces.
          const after = await session.update();
          assert.ok(after.success, describeRun(after));
          assert.deepEqual(seen(after), expected(newRecords), `re-run after ${k} writes`);
        } finally {
          await session.close();
        }
      }
      // Every write position was interrupted once: the publish has this many writes.
      assert.ok(completedAt > 8, `only ${completedAt} writes`);
      // Stopped before InRelease: the old repository; after it: the new one.
      assert.ok(views.old > 0 && views.new > 0, JSON.stringify(views));
    } finally {
      await stack.close();
    }
  },
});
