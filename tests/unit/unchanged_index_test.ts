/**
 * An index whose `Packages` text is the live one reuses the live compressed
 * files' Release lines instead of compressing again (`liveIndexFiles` in
 * `lambda/publish/publisher.ts`, `live` of `generateIndexes`).
 */

import assert from "node:assert/strict";
import { publishRepository } from "../../lambda/publish/publisher.ts";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { MemoryObjectStore } from "../support/memory_object_store.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";

const REPO_URL = "https://apt.example.dev";
const FIRST = new Date("2026-06-01T12:00:00Z");
const SECOND = new Date("2026-06-01T12:05:00Z");

async function seeded(memory: MemoryObjectStore): Promise<PackageRecord[]> {
  return await seedPool(memory, [
    syntheticRecord({ name: "kiro", version: "1.0", architecture: "amd64" }),
    syntheticRecord({ name: "kiro-cli", version: "2.0", architecture: "arm64" }),
    syntheticRecord({ name: "kiro-repo", version: "1.2", architecture: "all" }),
  ]);
}

async function publish(memory: MemoryObjectStore, records: readonly PackageRecord[], now: Date) {
  return await publishRepository(records, {
    objects: memory,
    keys: await testSigningKeys(),
    repoUrl: REPO_URL,
    now,
  });
}

/** Every index object under `dists/` and its SHA-256 (not the Release files nor the manifest). */
async function snapshot(memory: MemoryObjectStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const object of memory.list("dists/")) {
    if (/(In)?Release(\.gpg)?$|by-hash-generations\.json$/.test(object.key)) continue;
    out.set(object.key, (await memory.head(object.key))?.sha256 ?? "");
  }
  return out;
}

Deno.test("a publish where the table did not change writes only the Release files", async () => {
  const memory = new MemoryObjectStore({ now: () => SECOND });
  const records = await seeded(memory);
  await publish(memory, records, FIRST);
  const result = await publish(memory, records, SECOND);
  assert.deepEqual(result.written.sort(), [
    "dists/beta/InRelease",
    "dists/beta/Release",
    "dists/beta/Release.gpg",
    "dists/stable/InRelease",
    "dists/stable/Release",
    "dists/stable/Release.gpg",
  ]);
  assert.deepEqual(result.pruned, []);
});

Deno.test("a Release that reuses unchanged indexes is byte for byte the one a fresh publish writes", async () => {
  const incremental = new MemoryObjectStore({ now: () => SECOND });
  const fresh = new MemoryObjectStore({ now: () => SECOND });
  const records = await seeded(incremental);
  await seeded(fresh);
  await publish(incremental, records, FIRST);
  const added = await seedPool(incremental, [
    syntheticRecord({ name: "kiro", version: "1.1", architecture: "amd64" }),
  ]);
  await seedPool(fresh, [syntheticRecord({ name: "kiro", version: "1.1", architecture: "amd64" })]);
  const result = await publish(incremental, [...records, ...added], SECOND);
  await publish(fresh, [...records, ...added], SECOND);
  for (const suite of ["stable", "beta"]) {
    const key = `dists/${suite}/Release`;
    assert.deepEqual(await incremental.get(key), await fresh.get(key), `${key} differs`);
  }
  const live = await snapshot(incremental);
  for (const [key, sha256] of await snapshot(fresh)) {
    assert.equal(live.get(key), sha256, `${key} differs`);
  }
  // Only the amd64 index changed: nothing of arm64 was written again.
  assert.ok(result.written.some((key) => key.startsWith("dists/stable/main/binary-amd64/")));
  assert.deepEqual(result.written.filter((key) => key.includes("binary-arm64")), []);
});

Deno.test("an unchanged index whose compressed file was lost is compressed and written again", async () => {
  const memory = new MemoryObjectStore({ now: () => SECOND });
  const records = await seeded(memory);
  await publish(memory, records, FIRST);
  const before = await memory.get("dists/stable/main/binary-arm64/Packages.xz");
  await memory.delete("dists/stable/main/binary-arm64/Packages.xz");
  const result = await publish(memory, records, SECOND);
  assert.ok(result.written.includes("dists/stable/main/binary-arm64/Packages.xz"));
  assert.deepEqual(await memory.get("dists/stable/main/binary-arm64/Packages.xz"), before);
});
