/**
 * The incremental pool check (`planPoolCheck` in `lambda/publish/pool_check.ts`):
 * a publish checks the pool objects of the identities no live generation
 * lists, and every listed one once a day.
 */

import assert from "node:assert/strict";
import { headersFor } from "../../lambda/aws/object_headers.ts";
import { PoolVerificationError, publishRepository } from "../../lambda/publish/publisher.ts";
import {
  fullPoolCheckDue,
  HEAD_CHECK_LIMIT,
  planPoolCheck,
} from "../../lambda/publish/pool_check.ts";
import {
  type HistoryEntry,
  type HistoryRecorder,
  type LiveGeneration,
  liveGeneration,
  nextHistoryEntry,
  type Publication,
} from "../../lambda/store/history.ts";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { InstrumentedObjectStore, MemoryObjectStore } from "../support/memory_object_store.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";

const REPO_URL = "https://apt.example.dev";
const DAY = 86_400_000;

/** A publish history in memory: what `PublishHistory` does, without the table. */
class MemoryHistory implements HistoryRecorder {
  readonly entries = new Map<string, HistoryEntry[]>();

  live(channel: string): Promise<LiveGeneration> {
    return Promise.resolve(liveGeneration(this.entries.get(channel) ?? []));
  }

  record(channel: string, publication: Publication): Promise<HistoryEntry> {
    const entries = this.entries.get(channel) ?? [];
    const entry = nextHistoryEntry(entries, channel, { publication });
    this.entries.set(channel, [...entries, entry]);
    return Promise.resolve(entry);
  }
}

async function published(count: number) {
  const now = new Date("2026-06-01T12:00:00Z");
  const memory = new MemoryObjectStore({ now: () => now });
  const records = await seedPool(
    memory,
    Array.from(
      { length: count },
      (_, i) => syntheticRecord({ name: `pkg${i}`, version: "1.0", architecture: "amd64" }),
    ),
  );
  const history = new MemoryHistory();
  const keys = await testSigningKeys();
  await publishRepository(records, { objects: memory, keys, repoUrl: REPO_URL, now, history });
  return { memory, records, history, keys, now };
}

const later = (now: Date, ms: number) => new Date(now.getTime() + ms);

Deno.test("the first publish with a history checks every pool object and records a full check", async () => {
  const { history } = await published(3);
  const stable = history.entries.get("stable") ?? [];
  assert.equal(stable[0]?.pool_check, "full");
  assert.equal(stable[0]?.added.length, 3);
});

Deno.test("a publish adding one record checks only that record's pool object", async () => {
  const { memory, records, history, keys, now } = await published(150);
  const [added] = await seedPool(memory, [
    syntheticRecord({ name: "newcomer", version: "2.0", architecture: "amd64" }),
  ]);
  const counted = new InstrumentedObjectStore(memory);
  const messages: string[] = [];
  await publishRepository([...records, added!], {
    objects: counted,
    keys,
    repoUrl: REPO_URL,
    now: later(now, 60_000),
    history,
    onProgress: (event) => {
      if (event.phase === "verify") messages.push(event.message);
    },
  });
  assert.deepEqual(messages, [
    "Checking the pool objects of 1 of 151 records (changed: 150 were checked when a live " +
    "generation listed them (the last full check was at 2026-06-01T12:00:00.000Z))",
  ]);
  assert.equal(history.entries.get("stable")?.at(-1)?.pool_check, "changed");
  assert.deepEqual(history.entries.get("stable")?.at(-1)?.added, ["newcomer 2.0 amd64"]);
});

Deno.test("the incremental check refuses a publish whose new record's pool object is missing", async () => {
  const { memory, records, history, keys, now } = await published(3);
  const ghost = syntheticRecord({ name: "ghost", version: "1", architecture: "amd64" }).record;
  const counted = new InstrumentedObjectStore(memory);
  await assert.rejects(
    () =>
      publishRepository([...records, ghost], {
        objects: counted,
        keys,
        repoUrl: REPO_URL,
        now: later(now, 60_000),
        history,
      }),
    (error: unknown) =>
      error instanceof PoolVerificationError &&
      /ghost#1 .* is not in the bucket/.test(error.message),
  );
  assert.deepEqual(counted.writes, []);
  assert.equal(history.entries.get("stable")?.length, 1);
});

Deno.test("the incremental check refuses a publish whose new record's pool object is a different file", async () => {
  const { memory, records, history, keys, now } = await published(3);
  const { record: other, bytes } = syntheticRecord({
    name: "other",
    version: "1",
    architecture: "amd64",
  });
  const wrong = new TextEncoder().encode("not the file the record describes, same size?");
  await memory.put(other.pool_key, wrong.slice(0, bytes.byteLength), {
    ...headersFor(other.pool_key),
    sha256: "f".repeat(64),
  });
  await assert.rejects(
    () =>
      publishRepository([...records, other], {
        objects: memory,
        keys,
        repoUrl: REPO_URL,
        now: later(now, 60_000),
        history,
      }),
    (error: unknown) =>
      error instanceof PoolVerificationError &&
      /other#1 .* has SHA-256 f+, the record says/.test(error.message),
  );
});

Deno.test("a reinstated identity is checked again: it left the live generation", async () => {
  const { records, history, memory, keys, now } = await published(3);
  const [first, ...rest] = records as [PackageRecord, ...PackageRecord[]];
  await publishRepository(rest, {
    objects: memory,
    keys,
    repoUrl: REPO_URL,
    now: later(now, 60_000),
    history,
  });
  await memory.delete(first.pool_key);
  await assert.rejects(
    () =>
      publishRepository(records, {
        objects: memory,
        keys,
        repoUrl: REPO_URL,
        now: later(now, 120_000),
        history,
      }),
    /pkg0#1\.0 .* is not in the bucket/,
  );
});

Deno.test("the daily full check finds a pool object changed behind our back", async () => {
  const { records, history, memory, keys, now } = await published(3);
  const target = records[1]!;
  await memory.put(target.pool_key, new TextEncoder().encode("replaced behind our back"), {
    ...headersFor(target.pool_key),
  });
  // Within the day the publish trusts what the live generation listed ...
  await publishRepository(records, {
    objects: memory,
    keys,
    repoUrl: REPO_URL,
    now: later(now, DAY / 2),
    history,
  });
  // ... and a day after the last full check it checks every listed object again.
  const live = await Promise.all(["stable", "beta"].map((channel) => history.live(channel)));
  assert.match(fullPoolCheckDue(live, { now: later(now, DAY) }) ?? "", /daily full check/);
  await assert.rejects(
    () =>
      publishRepository(records, {
        objects: memory,
        keys,
        repoUrl: REPO_URL,
        now: later(now, DAY),
        history,
      }),
    (error: unknown) =>
      error instanceof PoolVerificationError &&
      error.problems.length === 1 && error.problems[0]!.includes(target.pool_key),
  );
});

Deno.test("a full check asked for checks every listed pool object", () => {
  const records = Array.from(
    { length: 3 },
    (_, i) => syntheticRecord({ name: `p${i}`, version: "1", architecture: "all" }).record,
  );
  const live: LiveGeneration[] = [{
    listed: new Set(["p0 1 all", "p1 1 all", "p2 1 all"]),
    lastFullPoolCheck: "2026-06-01T12:00:00.000Z",
  }];
  const now = new Date("2026-06-01T13:00:00Z");
  assert.equal(planPoolCheck(records, live, { now }).records.length, 0);
  const full = planPoolCheck(records, live, { now, scope: "full" });
  assert.equal(full.scope, "full");
  assert.equal(full.records.length, 3);
  assert.equal(planPoolCheck(records, undefined, { now }).scope, "full");
});

Deno.test("a few records are checked with HEADs, many with listings of their folders", () => {
  const many = Array.from(
    { length: HEAD_CHECK_LIMIT + 1 },
    (_, i) => syntheticRecord({ name: `p${i}`, version: "1", architecture: "all" }).record,
  );
  const live: LiveGeneration[] = [{
    listed: new Set(),
    lastFullPoolCheck: "2026-06-01T12:00:00.000Z",
  }];
  const now = new Date("2026-06-01T13:00:00Z");
  assert.equal(planPoolCheck(many.slice(1), live, { now }).strategy, "head");
  assert.equal(planPoolCheck(many, live, { now }).strategy, "list");
});
