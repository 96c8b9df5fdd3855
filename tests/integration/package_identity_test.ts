/**
 * The packages table keys one binary package identity per item: partition
 * `package_id` = `name#canonicalVersion(version)`, sort key `architecture`
 * (`docs/architecture.md`, "Identity"). These tests run `PackageStore`
 * against the DynamoDB stand-in (dynalite).
 */

import assert from "node:assert/strict";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import {
  describeIdentity,
  type PackageIdentity,
  type PackageRecord,
} from "../../lambda/domain/package_record.ts";
import { canonicalVersion, compareVersions } from "../../lambda/domain/version.ts";
import {
  IdentityConflictError,
  type PutResult,
  RecordConflictError,
  RecordNotFoundError,
} from "../../lambda/store/package_store.ts";
import { syntheticRecord } from "../support/publish_fixtures.ts";
import { startTestStack, type TestStack, withTestStack } from "../support/stack.ts";

/** Which of two builds a record describes: its bytes, and so its hashes and size. */
type Build = "a" | "b";

/** A kiro record of `version` for `architecture`, whose .deb is build `build`. */
function kiro(version: string, architecture: string, build: Build = "a"): PackageRecord {
  const bytes = new TextEncoder().encode(`!<arch>\nkiro build ${build} for ${architecture}\n`);
  return syntheticRecord({ name: "kiro", version, architecture, bytes }).record;
}

function identity(version: string, architecture: string): PackageIdentity {
  return { package_name: "kiro", version, architecture };
}

/** The error `promise` rejects with (fails when it resolves). */
async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    const result = await promise;
    return assert.fail(`expected a refusal, got ${JSON.stringify(result)}`);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return error;
  }
}

/** Every raw item of the packages table, as (package_id, architecture, version), sorted. */
async function rawItems(stack: TestStack): Promise<string[]> {
  const { Items = [] } = await stack.clients.dynamo.send(
    new ScanCommand({ TableName: stack.outputs.tableName, ConsistentRead: true }),
  );
  return Items.map((item) => `${item.package_id} ${item.architecture} ${item.version}`).sort();
}

// --- the key -----------------------------------------------------------------------------------

Deno.test("the packages table is keyed by package_id and architecture", () =>
  withTestStack(async ({ clients, outputs }) => {
    const { Table } = await clients.dynamoRaw.send(
      new DescribeTableCommand({ TableName: outputs.tableName }),
    );
    assert.deepEqual(Table?.KeySchema, [
      { AttributeName: "package_id", KeyType: "HASH" },
      { AttributeName: "architecture", KeyType: "RANGE" },
    ]);
  }));

Deno.test("one version is recorded for amd64 and arm64 side by side, each its own item", () =>
  withTestStack(async (stack) => {
    const { store, clients, outputs } = stack;
    const amd64 = kiro("1.0.337", "amd64");
    const arm64 = kiro("1.0.337", "arm64");
    assert.equal(await store.put(amd64), "created");
    assert.equal(await store.put(arm64), "created");

    assert.deepEqual(await store.versionRecords({ package_name: "kiro", version: "1.0.337" }), [
      amd64,
      arm64,
    ]);
    assert.deepEqual(await store.get(identity("1.0.337", "amd64")), amd64);
    assert.deepEqual(await store.get(identity("1.0.337", "arm64")), arm64);
    assert.equal(await store.has(identity("1.0.337", "riscv64")), false);

    // Each item's own key is (name#version, architecture).
    for (const architecture of ["amd64", "arm64"]) {
      const { Item } = await clients.dynamo.send(
        new GetCommand({
          TableName: outputs.tableName,
          Key: { package_id: "kiro#1.0.337", architecture },
          ConsistentRead: true,
        }),
      );
      assert.equal(Item?.package_id, "kiro#1.0.337");
      assert.equal(Item?.architecture, architecture);
      assert.equal(
        Item?.sha256_hash,
        architecture === "amd64" ? amd64.sha256_hash : arm64.sha256_hash,
      );
    }
    assert.deepEqual(await rawItems(stack), [
      "kiro#1.0.337 amd64 1.0.337",
      "kiro#1.0.337 arm64 1.0.337",
    ]);
  }));

Deno.test("a version spelled unusually is keyed by its canonical spelling and read back by any", () =>
  withTestStack(async (stack) => {
    const record = kiro("0:2.00-0", "amd64");
    assert.equal(record.package_id, "kiro#2.0");
    assert.equal(await stack.store.put(record), "created");
    assert.deepEqual(await rawItems(stack), ["kiro#2.0 amd64 0:2.00-0"]);
    assert.deepEqual(await stack.store.get(identity("2.0", "amd64")), record);
    assert.deepEqual(await stack.store.get(identity("2.00", "amd64")), record);
    assert.deepEqual(
      await stack.store.versionRecords({ package_name: "kiro", version: "2.0-0" }),
      [record],
    );
  }));

// --- one identity, one content -----------------------------------------------------------------

Deno.test("every dpkg-equal spelling of a recorded identity is refused, naming the recorded one", () =>
  withTestStack(async (stack) => {
    const recorded = kiro("1.0", "amd64", "a");
    await stack.store.put(recorded);
    for (const spelling of ["1.0-0", "1.00", "0:1.0", "00:1.000-00"]) {
      for (const build of ["a", "b"] as const) {
        const error = await refusal(stack.store.put(kiro(spelling, "amd64", build)));
        assert.ok(error instanceof RecordConflictError, `${spelling} (${build}): ${error}`);
        assert.equal(error.packageId, "kiro#1.0");
        assert.deepEqual(error.existing, recorded);
        assert.ok(error.fields.includes("version"), error.fields.join(", "));
        assert.equal(error.fields.includes("sha256_hash"), build === "b");
        assert.ok(
          error.message.includes(`${describeIdentity(recorded)} is already recorded`),
          error.message,
        );
        assert.ok(
          error.message.includes(`dpkg holds ${spelling} and 1.0 equal`),
          error.message,
        );
      }
    }
    // The same bytes under the same spelling are the same identity: nothing changes.
    assert.equal(await stack.store.put(kiro("1.0", "amd64", "a")), "unchanged");
    assert.deepEqual(await rawItems(stack), ["kiro#1.0 amd64 1.0"]);
    assert.deepEqual(await stack.store.get(identity("1.0", "amd64")), recorded);
  }));

Deno.test("other bytes under a recorded identity are refused, whatever the version spelling", () =>
  withTestStack(async (stack) => {
    await stack.store.put(kiro("1.0", "amd64", "a"));
    const error = await refusal(stack.store.put(kiro("1.0", "amd64", "b")));
    assert.ok(error instanceof RecordConflictError);
    assert.deepEqual(error.fields, ["md5_hash", "sha1_hash", "sha256_hash"]);
    assert.equal(
      (await stack.store.get(identity("1.0", "amd64")))?.sha256_hash,
      kiro("1.0", "amd64", "a").sha256_hash,
    );
  }));

Deno.test("a recorded identity spelled otherwise is other content even beside other architectures", () =>
  withTestStack(async (stack) => {
    // What the intake (admitStaged) and the in-memory store answer: the identity speaks first.
    await stack.store.put(kiro("1.0", "arm64"));
    await stack.store.put(kiro("1.0", "amd64"));
    const error = await refusal(stack.store.put(kiro("1.00", "amd64")));
    assert.ok(error instanceof RecordConflictError, String(error));
    assert.equal(describeIdentity(error.existing), "kiro 1.0 (amd64)");
  }));

// --- the rules between the architectures of one version ----------------------------------------

Deno.test("an Architecture: all build beside an amd64 build of one version is refused, in both orders", () =>
  withTestStack(async (stack) => {
    await stack.store.put(kiro("1.0", "amd64"));
    const all = await refusal(stack.store.put(kiro("1.0", "all")));
    assert.ok(all instanceof IdentityConflictError, String(all));
    assert.deepEqual(all.existing.map(describeIdentity), ["kiro 1.0 (amd64)"]);
    assert.match(all.message, /never both/);
    assert.deepEqual(await rawItems(stack), ["kiro#1.0 amd64 1.0"]);

    await stack.clearTable();
    await stack.store.put(kiro("1.0", "all"));
    const amd64 = await refusal(stack.store.put(kiro("1.0", "amd64")));
    assert.ok(amd64 instanceof IdentityConflictError, String(amd64));
    assert.deepEqual(amd64.existing.map(describeIdentity), ["kiro 1.0 (all)"]);
    assert.match(amd64.message, /never both/);
    assert.deepEqual(await rawItems(stack), ["kiro#1.0 all 1.0"]);
  }));

Deno.test("an all build spelled otherwise beside arch builds is refused too, naming all of them", () =>
  withTestStack(async (stack) => {
    await stack.store.put(kiro("1.0", "amd64"));
    await stack.store.put(kiro("1.0", "arm64"));
    const error = await refusal(stack.store.put(kiro("1.00", "all")));
    assert.ok(error instanceof IdentityConflictError, String(error));
    assert.deepEqual(error.existing.map(describeIdentity), [
      "kiro 1.0 (amd64)",
      "kiro 1.0 (arm64)",
    ]);
  }));

Deno.test("another architecture of a recorded version must spell the version the same way", () =>
  withTestStack(async (stack) => {
    await stack.store.put(kiro("1.0", "amd64"));
    for (const spelling of ["1.00", "1.0-0", "0:1.0"]) {
      const error = await refusal(stack.store.put(kiro(spelling, "arm64")));
      assert.ok(error instanceof IdentityConflictError, `${spelling}: ${error}`);
      assert.deepEqual(error.existing.map(describeIdentity), ["kiro 1.0 (amd64)"]);
      assert.ok(error.message.includes("already recorded as 1.0"), error.message);
      assert.ok(error.message.includes("spelled 1.0"), error.message);
    }
    // Spelled the same way, it is welcome.
    assert.equal(await stack.store.put(kiro("1.0", "arm64")), "created");
    assert.deepEqual(await rawItems(stack), ["kiro#1.0 amd64 1.0", "kiro#1.0 arm64 1.0"]);
  }));

// --- concurrent writers ------------------------------------------------------------------------

const SPELLINGS_OF_ONE = ["1.0", "1.0-0", "1.00", "0:1.0", "1.000", "0:1.00-0", "00:1.0", "1.0-00"];

Deno.test("of 8 concurrent writers of one identity in different spellings, exactly one records it", () =>
  withTestStack(async (stack) => {
    for (let round = 0; round < 5; round++) {
      await stack.clearTable();
      const records = SPELLINGS_OF_ONE.map((spelling, i) =>
        kiro(spelling, "amd64", i % 2 === 0 ? "a" : "b")
      );
      const outcomes = await Promise.allSettled(records.map((record) => stack.store.put(record)));
      const created = outcomes.flatMap((outcome, i) =>
        outcome.status === "fulfilled" && outcome.value === "created" ? [records[i]!] : []
      );
      assert.equal(created.length, 1, JSON.stringify(outcomes.map((o) => o.status)));
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") {
          assert.ok(outcome.reason instanceof RecordConflictError, String(outcome.reason));
          assert.deepEqual(outcome.reason.existing, created[0]);
        } else assert.equal(outcome.value, "created");
      }
      assert.deepEqual(await rawItems(stack), [`kiro#1.0 amd64 ${created[0]!.version}`]);
    }
  }));

Deno.test("concurrent all and arch-specific writers of one version never both stay recorded", () =>
  withTestStack(async (stack) => {
    for (let round = 0; round < 12; round++) {
      await stack.clearTable();
      const records = [kiro("1.0", "all"), kiro("1.0", "amd64"), kiro("1.0", "arm64")];
      const outcomes = await Promise.allSettled(records.map((record) => stack.store.put(record)));
      const kept: string[] = [];
      outcomes.forEach((outcome, i) => {
        if (outcome.status === "fulfilled") {
          assert.equal(outcome.value, "created");
          kept.push(`kiro#1.0 ${records[i]!.architecture} 1.0`);
        } else {
          assert.ok(outcome.reason instanceof IdentityConflictError, String(outcome.reason));
        }
      });
      // What the writers were told is what the table holds: a refused writer took its item back.
      const items = await rawItems(stack);
      assert.deepEqual(items, kept.sort());
      const architectures = items.map((item) => item.split(" ")[1]);
      assert.ok(
        !(architectures.includes("all") && architectures.length > 1),
        `all beside another architecture: ${items.join(", ")}`,
      );
    }
  }));

// --- withdrawn and reinstated ------------------------------------------------------------------

Deno.test("withdrawing sets the status and its fields; reinstating removes the fields", () =>
  withTestStack(async ({ store }) => {
    const recorded = kiro("1.0", "amd64");
    await store.put(recorded);
    const withdrawn = await store.setStatus(identity("1.0", "amd64"), {
      status: "withdrawn",
      at: "2026-07-01T00:00:00.000Z",
      by: "arn:aws:iam::123456789012:user/ops",
      reason: "crashes on start",
    });
    const expected = {
      ...recorded,
      status: "withdrawn",
      withdrawn_at: "2026-07-01T00:00:00.000Z",
      withdrawn_by: "arn:aws:iam::123456789012:user/ops",
      withdraw_reason: "crashes on start",
    };
    assert.deepEqual(withdrawn, expected);
    assert.deepEqual(await store.get(identity("1.0", "amd64")), expected);

    const reinstated = await store.setStatus(identity("1.0", "amd64"), { status: "published" });
    assert.deepEqual(reinstated, { ...recorded, status: "published" });
    const read = await store.get(identity("1.0", "amd64"));
    assert.deepEqual(read, { ...recorded, status: "published" });
    for (const field of ["withdrawn_at", "withdrawn_by", "withdraw_reason"]) {
      assert.equal(field in (read ?? {}), false, field);
    }
  }));

Deno.test("a withdrawn identity recorded again with the same bytes stays withdrawn", () =>
  withTestStack(async ({ store }) => {
    await store.put(kiro("1.0", "amd64"));
    await store.setStatus(identity("1.0", "amd64"), {
      status: "withdrawn",
      at: "2026-07-01T00:00:00.000Z",
      by: "ops",
      reason: "broken",
    });
    assert.equal(
      await store.put({ ...kiro("1.0", "amd64"), deb_url: "https://mirror.invalid/kiro.deb" }),
      "unchanged",
    );
    const read = await store.get(identity("1.0", "amd64"));
    assert.equal(read?.status, "withdrawn");
    assert.equal(read?.withdraw_reason, "broken");
    assert.equal(read?.deb_url, kiro("1.0", "amd64").deb_url);
  }));

Deno.test("a withdrawn identity recorded again with other bytes is refused", () =>
  withTestStack(async ({ store }) => {
    await store.put(kiro("1.0", "amd64", "a"));
    await store.setStatus(identity("1.0", "amd64"), {
      status: "withdrawn",
      at: "2026-07-01T00:00:00.000Z",
      by: "ops",
      reason: "broken",
    });
    const error = await refusal(store.put(kiro("1.0", "amd64", "b")));
    assert.ok(error instanceof RecordConflictError, String(error));
    assert.equal(error.existing.status, "withdrawn");
    const read = await store.get(identity("1.0", "amd64"));
    assert.equal(read?.sha256_hash, kiro("1.0", "amd64", "a").sha256_hash);
    assert.equal(read?.status, "withdrawn");
  }));

Deno.test("changing the status of an identity that is not recorded is refused and records nothing", () =>
  withTestStack(async (stack) => {
    await stack.store.put(kiro("1.0", "amd64"));
    for (const missing of [identity("1.0", "arm64"), identity("1.1", "amd64")]) {
      const error = await refusal(
        stack.store.setStatus(missing, { status: "withdrawn", at: "x", by: "ops", reason: "r" }),
      );
      assert.ok(error instanceof RecordNotFoundError, String(error));
      assert.ok(error.message.includes(describeIdentity(missing)), error.message);
      await assert.rejects(
        () => stack.store.setStatus(missing, { status: "published" }),
        RecordNotFoundError,
      );
    }
    assert.deepEqual(await rawItems(stack), ["kiro#1.0 amd64 1.0"]);
  }));

// --- property: the table keeps the identity rules under any sequence of puts -------------------

/** Spellings of two versions, most of them dpkg-equal to another. */
const SPELLINGS = ["1.0", "1.0-0", "1.00", "0:1.0", "2.0", "2.00", "0:2.0-0"];
const ARCHITECTURES = ["amd64", "arm64", "all"];

type Outcome = PutResult | "RecordConflictError" | "IdentityConflictError";

/** What the table should hold: per canonical version, its spelling and each architecture's build. */
type Model = Map<string, { spelling: string; builds: Map<string, Build> }>;

/**
 * The expected outcome of putting (`spelling`, `architecture`, `build`) into
 * `model`, which it updates. A recorded identity answers for itself first
 * (unchanged, or other content); else the version's other architectures may
 * forbid it.
 */
function modelPut(model: Model, spelling: string, architecture: string, build: Build): Outcome {
  const version = model.get(canonicalVersion(spelling));
  const recorded = version?.builds.get(architecture);
  if (version !== undefined && recorded !== undefined) {
    return version.spelling === spelling && recorded === build
      ? "unchanged"
      : "RecordConflictError";
  }
  if (version !== undefined) {
    const others = [...version.builds.keys()];
    if (version.spelling !== spelling) return "IdentityConflictError";
    if (others.some((other) => (other === "all") !== (architecture === "all"))) {
      return "IdentityConflictError";
    }
    version.builds.set(architecture, build);
    return "created";
  }
  model.set(canonicalVersion(spelling), {
    spelling,
    builds: new Map([[architecture, build]]),
  });
  return "created";
}

function outcomeOf(error: unknown): Outcome {
  if (error instanceof RecordConflictError) return "RecordConflictError";
  if (error instanceof IdentityConflictError) return "IdentityConflictError";
  throw error;
}

Deno.test("property: any sequence of puts keeps one spelling per version, never all beside an architecture, and matches the model", async () => {
  const stack = await startTestStack();
  try {
    const put = fc.tuple(
      fc.constantFrom(...SPELLINGS),
      fc.constantFrom(...ARCHITECTURES),
      fc.constantFrom<Build>("a", "b"),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(put, { minLength: 1, maxLength: 8 }), async (puts) => {
        await stack.clearTable();
        const model: Model = new Map();
        for (const [spelling, architecture, build] of puts) {
          const expected = modelPut(model, spelling, architecture, build);
          const actual = await stack.store.put(kiro(spelling, architecture, build)).then(
            (result) => result,
            outcomeOf,
          );
          assert.equal(actual, expected, `put ${spelling} ${architecture} ${build}`);
        }
        const records = await stack.store.listAll();
        // Never two items whose versions dpkg holds equal under one architecture.
        for (const [i, a] of records.entries()) {
          for (const b of records.slice(i + 1)) {
            if (compareVersions(a.version, b.version) !== 0) continue;
            assert.notEqual(a.architecture, b.architecture, `${a.version} and ${b.version}`);
            // One spelling per version, and never all beside another architecture.
            assert.equal(a.version, b.version);
            assert.ok(a.architecture !== "all" && b.architecture !== "all");
          }
        }
        // Exactly what the model holds, build for build.
        const held = records.map((r) =>
          `${r.version} ${r.architecture} ${
            r.sha256_hash === kiro(r.version, r.architecture, "a").sha256_hash ? "a" : "b"
          }`
        ).sort();
        const modelled = [...model.values()].flatMap(({ spelling, builds }) =>
          [...builds].map(([architecture, build]) => `${spelling} ${architecture} ${build}`)
        ).sort();
        assert.deepEqual(held, modelled);
      }),
      { numRuns: 100 },
    );
  } finally {
    await stack.close();
  }
});
