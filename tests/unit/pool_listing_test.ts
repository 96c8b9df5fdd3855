/**
 * How the pool check reads the pool (`poolListingPrefixes` and `verifyPool`
 * in `lambda/publish/pool_check.ts`): the folders of the checked records,
 * listed several at once, instead of one listing of the whole pool.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { headersFor } from "../../lambda/aws/object_headers.ts";
import {
  LISTING_PREFIXES_MAX,
  poolListingPrefixes,
  verifyPool,
} from "../../lambda/publish/pool_check.ts";
import { InstrumentedObjectStore, MemoryObjectStore } from "../support/memory_object_store.ts";
import { seedPool, syntheticRecord } from "../support/publish_fixtures.ts";

Deno.test("a few packages' pool objects are listed by their package folders", () => {
  assert.deepEqual(
    poolListingPrefixes([
      "pool/main/k/kiro/kiro_1.0_amd64.deb",
      "pool/main/k/kiro/kiro_1.1_amd64.deb",
      "pool/main/k/kiro-cli/kiro-cli_2_arm64.deb",
      "pool/main/libk/libkiro1/libkiro1_1_all.deb",
    ]),
    ["pool/main/k/kiro-cli/", "pool/main/k/kiro/", "pool/main/libk/libkiro1/"],
  );
});

Deno.test("many packages are listed by their letter folders, and too many letters by pool/", () => {
  const many = Array.from(
    { length: LISTING_PREFIXES_MAX + 1 },
    (_, i) => `pool/main/k/kiro${i}/kiro${i}_1_amd64.deb`,
  );
  assert.deepEqual(poolListingPrefixes(many), ["pool/main/k/"]);
  const letters = Array.from(
    { length: LISTING_PREFIXES_MAX + 1 },
    (_, i) => `pool/main/l${i}/l${i}x/l${i}x_1_amd64.deb`,
  );
  assert.deepEqual(poolListingPrefixes([...many, ...letters]), ["pool/"]);
});

Deno.test("a folder inside another listed folder is not listed again", () => {
  assert.deepEqual(
    poolListingPrefixes(["pool/main/k/kiro_1_amd64.deb", "pool/main/k/kiro/kiro_2_amd64.deb"]),
    ["pool/main/k/"],
  );
});

Deno.test("the listing prefixes cover every key, at most the limit of them, none inside another", () => {
  const segment = fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,6}$/);
  const key = fc.tuple(
    fc.constantFrom("main", "contrib"),
    segment,
    segment,
    segment,
  ).map(([component, letter, name, file]) => `pool/${component}/${letter}/${name}/${file}.deb`);
  fc.assert(
    fc.property(fc.array(key, { minLength: 1, maxLength: 200 }), (keys) => {
      const prefixes = poolListingPrefixes(keys);
      assert.ok(prefixes.length >= 1 && prefixes.length <= LISTING_PREFIXES_MAX);
      for (const k of keys) {
        assert.ok(prefixes.some((prefix) => k.startsWith(prefix)), `${k} is not covered`);
      }
      for (const prefix of prefixes) {
        assert.ok(prefix.endsWith("/"));
        assert.ok(!prefixes.some((other) => other !== prefix && prefix.startsWith(other)));
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("the pool check lists only the checked records' folders and still finds every problem", async () => {
  const memory = new MemoryObjectStore();
  const items = ["kiro", "kiro-cli", "libkiro1"].flatMap((name) =>
    ["1.0", "1.1", "1.2"].map((version) =>
      syntheticRecord({ name, version, architecture: "amd64" })
    )
  );
  const records = await seedPool(memory, items);
  // Outside the checked folders: never read.
  const other = syntheticRecord({ name: "other", version: "1", architecture: "amd64" });
  await seedPool(memory, [other]);
  const [missing, resized] = [records[1]!, records[4]!];
  await memory.delete(missing.pool_key);
  await memory.put(resized.pool_key, new Uint8Array(3), headersFor(resized.pool_key));
  const objects = new InstrumentedObjectStore(memory);

  const problems = await verifyPool(records, objects, { strategy: "list" });

  assert.deepEqual(objects.listed.sort(), [
    "pool/main/k/kiro-cli/",
    "pool/main/k/kiro/",
    "pool/main/libk/libkiro1/",
  ]);
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.ok(
    problems.some((problem) => problem.includes(`${missing.pool_key}) is not in the bucket`)),
  );
  assert.ok(
    problems.some((problem) =>
      problem.includes(resized.pool_key) && problem.includes("has 3 bytes")
    ),
  );
});
