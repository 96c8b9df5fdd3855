import assert from "node:assert/strict";
import fc from "fast-check";
import * as openpgp from "openpgp";
import { generateSigningKey, readSigningKeys } from "../../lambda/signing/keys.ts";
import { verifyRepository } from "../../lambda/publish/verify.ts";
import {
  addGeneration,
  type GenerationManifest,
  parseManifest,
  planPrune,
  serializeManifest,
} from "../../lambda/publish/generations.ts";
import { invalidationPaths } from "../../lambda/aws/invalidation.ts";
import { mapLimit } from "../../lambda/publish/limit.ts";
import { sha256Hex } from "../../lambda/hashing.ts";
import { verifyPool } from "../../lambda/publish/pool_check.ts";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import {
  DEB_CONTENT_TYPE,
  headersFor,
  IMMUTABLE_CACHE_CONTROL,
  isByHashKey,
  MUTABLE_CACHE_CONTROL,
} from "../../lambda/aws/object_headers.ts";
import { nextReleaseDate, releaseDateOf } from "../../lambda/publish/release_date.ts";

const BY_HASH = "dists/stable/main/binary-amd64/by-hash/SHA256/";
const hex = (n: number) => n.toString(16).padStart(64, "0");

Deno.test("content types and cache headers follow the kind of object", () => {
  const pool = headersFor("pool/main/k/kiro/kiro_1.0_amd64.deb");
  assert.deepEqual(pool, { contentType: DEB_CONTENT_TYPE, cacheControl: IMMUTABLE_CACHE_CONTROL });
  assert.deepEqual(headersFor("kiro-repo.deb"), {
    contentType: DEB_CONTENT_TYPE,
    cacheControl: MUTABLE_CACHE_CONTROL,
  });
  assert.equal(headersFor("dists/stable/Release").contentType, "text/plain; charset=utf-8");
  assert.equal(headersFor("dists/stable/InRelease").contentType, "text/plain; charset=utf-8");
  assert.equal(
    headersFor("dists/stable/main/binary-arm64/Packages").contentType,
    "text/plain; charset=utf-8",
  );
  assert.equal(
    headersFor("dists/stable/main/binary-arm64/Packages.gz").contentType,
    "application/gzip",
  );
  assert.equal(
    headersFor("dists/stable/main/binary-arm64/Packages.xz").contentType,
    "application/x-xz",
  );
  assert.equal(headersFor("kiro-archive-keyring.pgp").contentType, "application/pgp-keys");
  assert.equal(headersFor("index.html").contentType, "text/html; charset=utf-8");
  const byHash = headersFor(BY_HASH + hex(1), {
    canonicalName: "dists/stable/main/binary-amd64/Packages.xz",
  });
  assert.deepEqual(byHash, {
    contentType: "application/x-xz",
    cacheControl: IMMUTABLE_CACHE_CONTROL,
  });
  assert.equal(headersFor("dists/stable/Release").cacheControl, MUTABLE_CACHE_CONTROL);
  assert.ok(isByHashKey(BY_HASH + hex(1)));
  assert.ok(!isByHashKey("dists/stable/main/binary-amd64/Packages"));
});

Deno.test("one invalidation covers dists and the changed root objects, never immutable keys", () => {
  assert.deepEqual(
    invalidationPaths([
      BY_HASH + hex(2),
      "dists/stable/Release",
      "dists/stable/InRelease",
      "index.html",
      "pool/main/k/kiro/kiro_1_all.deb",
    ]),
    ["/dists/*", "/index.html"],
  );
  assert.deepEqual(invalidationPaths([BY_HASH + hex(2)]), []);
});

Deno.test("the Release date never goes backwards and moves at least one second", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4_000_000_000_000 }),
      fc.option(fc.integer({ min: -7_200_000, max: 7_200_000 }), { nil: undefined }),
      (now, offset) => {
        const live = offset === undefined ? undefined : Math.max(0, now + offset);
        const next = nextReleaseDate(
          new Date(now),
          live === undefined ? undefined : new Date(live),
        );
        assert.equal(next.getTime() % 1000, 0);
        assert.ok(next.getTime() >= Math.floor(now / 1000) * 1000);
        if (live === undefined || live - now > 3_600_000) {
          // No live Release, or one dated far ahead (apt refuses it anyway): the clock.
          assert.equal(next.getTime(), Math.floor(now / 1000) * 1000);
        } else {
          assert.ok(next.getTime() >= Math.floor(live / 1000) * 1000 + 1000);
          assert.ok(next.getTime() <= Math.max(now, live + 1000));
        }
      },
    ),
    { numRuns: 300 },
  );
  assert.deepEqual(
    releaseDateOf("Origin: Kiro\nDate: Sat, 22 Nov 2026 14:03:12 UTC\nValid-Until: x\n"),
    new Date("2026-11-22T14:03:12Z"),
  );
  assert.equal(releaseDateOf(undefined), undefined);
  assert.equal(releaseDateOf("Origin: Kiro\n"), undefined);
});

Deno.test("a new generation is added only when the by-hash set changes", () => {
  const empty: GenerationManifest = { version: 1, generations: [] };
  const one = addGeneration(empty, [BY_HASH + hex(2), BY_HASH + hex(1)], new Date(1000));
  assert.equal(one.generations.length, 1);
  assert.deepEqual(one.generations[0]?.keys, [BY_HASH + hex(1), BY_HASH + hex(2)]);
  assert.equal(addGeneration(one, [BY_HASH + hex(1), BY_HASH + hex(2)], new Date(9000)), one);
  const two = addGeneration(one, [BY_HASH + hex(3)], new Date(5000));
  assert.deepEqual(two.generations.map((g) => g.keys.length), [1, 2]);
  assert.deepEqual(parseManifest(serializeManifest(two)), two);
});

Deno.test("an unreadable manifest is an empty one, with a warning", () => {
  const warnings: string[] = [];
  const manifest = parseManifest(new TextEncoder().encode("{nope"), {
    warn: (m) => warnings.push(m),
  });
  assert.deepEqual(manifest.generations, []);
  assert.equal(warnings.length, 1);
  assert.deepEqual(parseManifest(undefined).generations, []);
});

Deno.test("pruning keeps the newest generations and the recently replaced ones", () => {
  const day = 86_400_000;
  const now = new Date(100 * day);
  // Generations, newest first: g0 live, g1 replaced at g0's time, …
  const manifest: GenerationManifest = {
    version: 1,
    generations: [0, 1, 2, 3, 4].map((i) => ({
      published: new Date(now.getTime() - i * day).toISOString(),
      keys: [BY_HASH + hex(10 + i), BY_HASH + hex(99)],
    })),
  };
  const listed = [10, 11, 12, 13, 14, 99, 50].map((n) => ({
    key: BY_HASH + hex(n),
    lastModified: new Date(now.getTime() - (n === 50 ? 0 : 10 * day)),
  }));
  // keep 2 generations, or replaced less than 1.5 days ago: g0, g1 (count), g2 (replaced 1 day ago).
  const plan = planPrune(manifest, listed, { now, keepGenerations: 2, keepSeconds: 1.5 * 86400 });
  assert.deepEqual(plan.manifest.generations.length, 3);
  assert.ok(plan.manifestChanged);
  // g3, g4 go; the shared 99 stays; the young stray 50 stays.
  assert.deepEqual(plan.delete, [BY_HASH + hex(13), BY_HASH + hex(14)]);
  const later = planPrune(plan.manifest, listed, {
    now: new Date(now.getTime() + 11 * day),
    keepGenerations: 2,
    keepSeconds: 1.5 * 86400,
  });
  // The stray is now old enough; g2 is beyond both limits.
  assert.ok(later.delete.includes(BY_HASH + hex(50)));
  assert.ok(later.delete.includes(BY_HASH + hex(12)));
  assert.ok(!later.delete.includes(BY_HASH + hex(10)));
  assert.ok(!later.delete.includes(BY_HASH + hex(99)));
});

Deno.test("pruning never deletes a key of the live generation", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 6 }), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: 0, max: 10 * 86400 }),
      (sets, keepGenerations, keepSeconds) => {
        const now = 50 * 86_400_000;
        const manifest: GenerationManifest = {
          version: 1,
          generations: sets.map((set, i) => ({
            published: new Date(now - i * 86_400_000).toISOString(),
            keys: [...new Set(set.map((n) => BY_HASH + hex(n)))].sort(),
          })),
        };
        const listed = Array.from({ length: 21 }, (_, n) => ({
          key: BY_HASH + hex(n),
          lastModified: new Date(0),
        }));
        const plan = planPrune(manifest, listed, {
          now: new Date(now),
          keepGenerations,
          keepSeconds,
        });
        for (const key of manifest.generations[0]?.keys ?? []) {
          assert.ok(!plan.delete.includes(key));
        }
        for (const generation of plan.manifest.generations) {
          for (const key of generation.keys) assert.ok(!plan.delete.includes(key));
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("mapLimit keeps order, bounds parallelism and stops on the first failure", async () => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, n));
    running--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(peak, 2);
  const started: number[] = [];
  await assert.rejects(
    () =>
      mapLimit([1, 2, 3, 4], 1, (n) => {
        started.push(n);
        return n === 2 ? Promise.reject(new Error("boom")) : Promise.resolve(n);
      }),
    /boom/,
  );
  assert.deepEqual(started, [1, 2]);
});

// --- publishRepository against the in-memory store -------------------------------------------

import { InstrumentedObjectStore, MemoryObjectStore } from "../support/memory_object_store.ts";
import {
  KIRO_REPO_DEB_KEY,
  PoolVerificationError,
  publishRepository,
} from "../../lambda/publish/publisher.ts";
import { compareVersions } from "../../lambda/domain/version.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";

const REPO_URL = "https://apt.example.dev";
const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

async function scene(now = new Date("2026-06-01T12:00:00Z")) {
  const memory = new MemoryObjectStore({ now: () => now });
  const records = await seedPool(memory, [
    syntheticRecord({ name: "kiro", version: "1.0.1", architecture: "amd64" }),
    syntheticRecord({ name: "kiro", version: "1.0.2", architecture: "amd64" }),
    syntheticRecord({ name: "kiro-cli", version: "2.0", architecture: "arm64" }),
    syntheticRecord({ name: "kiro-repo", version: "1.2", architecture: "all" }),
    syntheticRecord({ name: "kiro-repo", version: "1.10", architecture: "all" }),
  ]);
  return { memory, records, keys: await testSigningKeys(), now };
}

Deno.test("a publish writes indexes, signed Release files, keyring, kiro-repo.deb and index.html", async () => {
  const { memory, records, keys, now } = await scene();
  const result = await publishRepository(records, {
    objects: memory,
    keys,
    repoUrl: REPO_URL,
    now,
  });
  const keysWritten = new Set(result.written);
  for (
    const key of [
      "dists/stable/InRelease",
      "dists/stable/Release",
      "dists/stable/Release.gpg",
      "dists/stable/main/binary-amd64/Packages",
      "dists/stable/main/binary-arm64/Packages",
      "kiro-archive-keyring.pgp",
      KIRO_REPO_DEB_KEY,
      "index.html",
    ]
  ) assert.ok(keysWritten.has(key), `${key} was not written`);
  const amd64 = decode(await memory.get("dists/stable/main/binary-amd64/Packages"));
  assert.match(amd64, /^Package: kiro\n(.|\n)*Version: 1\.0\.1\n/m);
  assert.match(amd64, /Version: 1\.0\.2\n/);
  assert.match(amd64, /Package: kiro-repo\n/); // Architecture: all is in every list
  assert.doesNotMatch(amd64, /Package: kiro-cli\n/);
  const arm64 = decode(await memory.get("dists/stable/main/binary-arm64/Packages"));
  assert.match(arm64, /Package: kiro-cli\n/);
  assert.match(arm64, /Package: kiro-repo\n/);
  const release = decode(await memory.get("dists/stable/Release"));
  assert.match(release, /^Date: Mon, 01 Jun 2026 12:00:00 UTC$/m);
  assert.match(release, /^Valid-Until: Mon, 08 Jun 2026 12:00:00 UTC$/m);
  assert.equal(result.date.toISOString(), "2026-06-01T12:00:00.000Z");
  assert.match(decode(await memory.get("dists/stable/InRelease")), /BEGIN PGP SIGNED MESSAGE/);
  assert.match(decode(await memory.get("dists/stable/Release.gpg")), /BEGIN PGP SIGNATURE/);
  const html = decode(await memory.get("index.html"));
  assert.ok(html.includes("<td>kiro-repo</td><td>1.10</td>"));
  assert.ok(html.includes(`curl -fsSLO ${REPO_URL}/kiro-repo.deb`));
});

Deno.test("writes follow the crash-safe order: by-hash, indexes, Release.gpg, Release, InRelease, extras", async () => {
  const { memory, records, keys, now } = await scene();
  const store = new InstrumentedObjectStore(memory);
  await publishRepository(records, { objects: store, keys, repoUrl: REPO_URL, now });
  const order = store.writes.map((w) => w.key);
  const rank = (key: string) =>
    /\/by-hash\//.test(key)
      ? 1
      : key.endsWith("by-hash-generations.json")
      ? 2
      : /\/Packages/.test(key)
      ? 3
      : key.endsWith("Release.gpg")
      ? 4
      : key.endsWith("/Release")
      ? 5
      : key.endsWith("InRelease")
      ? 6
      : 7;
  const ranks = order.map(rank);
  assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), `order was ${order.join(", ")}`);
  assert.ok(ranks.includes(1) && ranks.includes(3) && ranks.includes(7));
});

Deno.test("a publish refuses records whose pool object is missing or different, writing nothing", async () => {
  const { memory, records, keys, now } = await scene();
  const missing = syntheticRecord({ name: "ghost", version: "1", architecture: "amd64" }).record;
  const store = new InstrumentedObjectStore(memory);
  await assert.rejects(
    () =>
      publishRepository([...records, missing], { objects: store, keys, repoUrl: REPO_URL, now }),
    (error: unknown) =>
      error instanceof PoolVerificationError &&
      /ghost#1 .* is not in the bucket/.test(error.message),
  );
  const first = records[0]!;
  const wrongHash = { ...first, sha256_hash: "0".repeat(64), md5_hash: "0".repeat(32) };
  await assert.rejects(
    () => publishRepository([wrongHash], { objects: store, keys, repoUrl: REPO_URL, now }),
    /has SHA-256 .* the record says 0000/,
  );
  const wrongSize = { ...first, file_size: first.file_size + 1 };
  await assert.rejects(
    () => publishRepository([wrongSize], { objects: store, keys, repoUrl: REPO_URL, now }),
    /has \d+ bytes, the record says/,
  );
  assert.deepEqual(store.writes, []);
});

/** A memory store whose pool listings are slow (or fail), and which logs what happened when. */
class SlowPoolStore extends MemoryObjectStore {
  readonly events: string[] = [];
  failure: Error | undefined;

  override async *list(prefix: string) {
    if (!prefix.startsWith("pool/")) {
      yield* super.list(prefix);
      return;
    }
    this.events.push("pool listing started");
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (this.failure !== undefined) {
      this.events.push("pool listing failed");
      throw this.failure;
    }
    yield* super.list(prefix);
    this.events.push("pool listing ended");
  }

  override get(key: string) {
    if (key.startsWith("dists/")) this.events.push(`get ${key}`);
    return super.get(key);
  }
}

/** Two records in a {@linkcode SlowPoolStore}, and signing keys. */
async function slowPoolScene() {
  const now = new Date("2026-06-01T12:00:00Z");
  const memory = new SlowPoolStore({ now: () => now });
  const records = await seedPool(memory, [
    syntheticRecord({ name: "kiro", version: "1.0.1", architecture: "amd64" }),
    syntheticRecord({ name: "kiro-cli", version: "2.0", architecture: "arm64" }),
  ]);
  return { now, memory, records, keys: await testSigningKeys() };
}

Deno.test("what is live is read before the pool check lists the pool, so those few reads wait behind no listing", async () => {
  const { now, memory, records, keys } = await slowPoolScene();
  await publishRepository(records, { objects: memory, keys, repoUrl: REPO_URL, now });
  memory.events.length = 0;
  await publishRepository(records, {
    objects: memory,
    keys,
    repoUrl: REPO_URL,
    now,
    poolCheckScope: "full",
  });
  const started = memory.events.indexOf("pool listing started");
  assert.ok(started >= 0, memory.events.join(", "));
  const reads = memory.events.slice(0, started);
  for (const channel of ["stable", "beta"]) {
    assert.ok(reads.includes(`get dists/${channel}/Release`), memory.events.join(", "));
    assert.ok(
      reads.includes(`get dists/${channel}/by-hash-generations.json`),
      memory.events.join(", "),
    );
  }
});

Deno.test("the pool check runs while the indexes are generated, and nothing is written before it passes", async () => {
  const { now, memory, records, keys } = await slowPoolScene();
  const store = new InstrumentedObjectStore(memory);
  await publishRepository(records, { objects: store, keys, repoUrl: REPO_URL, now });
  const planned = memory.events.indexOf("get dists/stable/Release");
  assert.ok(planned >= 0, memory.events.join(", "));
  assert.ok(planned < memory.events.indexOf("pool listing ended"), memory.events.join(", "));
  assert.ok(store.writes.length > 0);

  memory.events.length = 0;
  memory.failure = new Error("The pool listing failed");
  const again = new InstrumentedObjectStore(memory);
  const added = await seedPool(memory, [
    syntheticRecord({ name: "kiro", version: "1.0.2", architecture: "amd64" }),
  ]);
  await assert.rejects(
    () =>
      publishRepository([...records, ...added], {
        objects: again,
        keys,
        repoUrl: REPO_URL,
        now,
        poolCheckScope: "full",
      }),
    /The pool listing failed/,
  );
  assert.deepEqual(again.writes, [], "nothing written when the pool check fails");
  assert.ok(memory.events.includes("pool listing failed"));
});

Deno.test("a second publish of the same records rewrites only the Release files", async () => {
  const { memory, records, keys, now } = await scene();
  await publishRepository(records, { objects: memory, keys, repoUrl: REPO_URL, now });
  const packagesBefore = await memory.get("dists/stable/main/binary-amd64/Packages");
  const store = new InstrumentedObjectStore(memory);
  const again = await publishRepository(records, { objects: store, keys, repoUrl: REPO_URL, now });
  assert.deepEqual(store.writes.map((w) => w.key).sort(), [
    "dists/beta/InRelease",
    "dists/beta/Release",
    "dists/beta/Release.gpg",
    "dists/stable/InRelease",
    "dists/stable/Release",
    "dists/stable/Release.gpg",
  ]);
  assert.deepEqual(await memory.get("dists/stable/main/binary-amd64/Packages"), packagesBefore);
  // Same clock: Date moved on by one second, never backwards.
  assert.equal(again.date.toISOString(), "2026-06-01T12:00:01.000Z");
  assert.ok(again.skipped > 5);
});

Deno.test("a publish never reads a .deb: only the live Release and the manifest are fetched", async () => {
  const { memory, records, keys, now } = await scene();
  await publishRepository(records, { objects: memory, keys, repoUrl: REPO_URL, now });
  const store = new InstrumentedObjectStore(memory);
  await publishRepository(records, { objects: store, keys, repoUrl: REPO_URL, now });
  assert.deepEqual(store.gets.sort(), [
    "dists/beta/Release",
    "dists/beta/by-hash-generations.json",
    "dists/stable/Release",
    "dists/stable/by-hash-generations.json",
  ]);
});

/** Every object is at an expected key, with its kind's headers (`lambda/aws/object_headers.ts`). */
function checkKeysAndHeaders(memory: MemoryObjectStore): void {
  for (const [key, object] of memory.objects) {
    assert.match(
      key,
      /^(pool\/main\/(lib[a-z0-9]|[a-z0-9])\/[a-z0-9.+-]+\/[^/]+\.deb|dists\/(stable|beta)\/(InRelease|Release|Release\.gpg|by-hash-generations\.json|main\/binary-(amd64|arm64)\/(Packages(\.gz|\.xz)?|by-hash\/SHA256\/[0-9a-f]{64}))|kiro-archive-keyring\.pgp|kiro-repo\.deb|index\.html)$/,
    );
    let name = key;
    if (/by-hash\//.test(key)) {
      // A by-hash file's type follows the canonical file with the same bytes.
      const dir = key.slice(0, key.indexOf("/by-hash/"));
      const twin = ["Packages", "Packages.gz", "Packages.xz"].find((file) => {
        const canonical = memory.objects.get(`${dir}/${file}`);
        return canonical !== undefined && sha256Hex(canonical.bytes) === key.slice(-64);
      });
      if (twin === undefined) continue; // an older generation's file
      name = `${dir}/${twin}`;
    }
    const expected = name.endsWith(".deb")
      ? "application/vnd.debian.binary-package"
      : name === "index.html"
      ? "text/html; charset=utf-8"
      : name.endsWith(".pgp")
      ? "application/pgp-keys"
      : name.endsWith(".gz")
      ? "application/gzip"
      : name.endsWith(".xz")
      ? "application/x-xz"
      : name.endsWith(".gpg")
      ? "application/pgp-signature"
      : name.endsWith(".json")
      ? "application/json"
      : "text/plain; charset=utf-8";
    assert.equal(object.contentType, expected, key);
    const immutable = key.startsWith("pool/") || /by-hash\//.test(key);
    assert.equal(
      object.cacheControl,
      immutable ? "public, max-age=31536000, immutable" : "public, max-age=60",
      key,
    );
  }
}

Deno.test("every object gets the content type and cache policy of its kind, at its expected key", async () => {
  const { memory, records, keys, now } = await scene();
  await publishRepository(records, { objects: memory, keys, repoUrl: REPO_URL, now });
  checkKeysAndHeaders(memory);
  const types = new Set([...memory.objects.values()].map((object) => object.contentType));
  for (const type of ["application/gzip", "application/x-xz", "text/html; charset=utf-8"]) {
    assert.ok(types.has(type), type);
  }
});

Deno.test("kiro-repo.deb is a regular copy of the highest kiro-repo version by dpkg order", async () => {
  const versions = fc.uniqueArray(
    fc.tuple(
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 0, max: 12 }),
      fc.integer({ min: 0, max: 12 }),
      fc.constantFrom("", "~rc1", "+b1", "-1"),
    ).map(([epoch, major, minor, suffix]) =>
      `${epoch > 0 ? `${epoch}:` : ""}${major}.${minor}${suffix}`
    ),
    { minLength: 1, maxLength: 6, selector: (v) => v },
  );
  const keys = await testSigningKeys();
  await fc.assert(
    fc.asyncProperty(versions, async (list) => {
      const memory = new MemoryObjectStore();
      const records = await seedPool(
        memory,
        list.map((version) => syntheticRecord({ name: "kiro-repo", version, architecture: "all" })),
      );
      await publishRepository(records, {
        objects: memory,
        keys,
        repoUrl: REPO_URL,
        now: new Date("2026-06-01T00:00:00Z"),
      });
      const latest = [...records].sort((a, b) => compareVersions(b.version, a.version))[0]!;
      // The convenience copy is at the root, named kiro-repo.deb.
      const copy = memory.objects.get(KIRO_REPO_DEB_KEY);
      assert.ok(copy !== undefined);
      // It holds the same bytes as the latest version's pool object.
      assert.deepEqual(copy.bytes, memory.objects.get(latest.pool_key)?.bytes);
      assert.equal(copy.metadata.sha256, latest.sha256_hash);
      // It is a regular object (content, ETag, .deb type), not a redirect.
      assert.ok(copy.bytes.byteLength > 0 && copy.etag.length > 0);
      assert.equal(copy.contentType, "application/vnd.debian.binary-package");
      assert.equal(copy.metadata["website-redirect-location"], undefined);
    }),
    { numRuns: 100 },
  );
});

Deno.test("every recorded version appears in the indexes of its channels, from the records alone", async () => {
  const keys = await testSigningKeys();
  const packageSets = fc.uniqueArray(
    fc.record({
      name: fc.constantFrom("kiro", "kiro-cli", "libkiro1", "kiro-repo"),
      version: fc.tuple(fc.nat(20), fc.nat(20)).map(([a, b]) => `${a}.${b}`),
      architecture: fc.constantFrom("amd64", "arm64", "all"),
      channels: fc.subarray(["stable", "beta"]),
    }),
    { maxLength: 12, selector: (p) => `${p.name}#${p.version}` },
  );
  await fc.assert(
    fc.asyncProperty(packageSets, async (packages) => {
      const memory = new MemoryObjectStore();
      const seeded = await seedPool(memory, packages.map((p) => syntheticRecord(p)));
      const records = seeded.map((record, index) => ({
        ...record,
        channels: packages[index]!.channels,
      }));
      const store = new InstrumentedObjectStore(memory);
      const result = await publishRepository(records, {
        objects: store,
        keys,
        repoUrl: REPO_URL,
        now: new Date("2026-06-01T00:00:00Z"),
      });
      // Every record in some channel is published.
      assert.equal(result.packages, records.filter((r) => r.channels.length > 0).length);
      // Every object at an expected key, with its kind's headers.
      checkKeysAndHeaders(memory);
      // No pool object was read: the indexes come from the records alone.
      assert.ok(store.gets.every((key) => !key.startsWith("pool/")));
      for (const channel of ["stable", "beta"]) {
        for (const arch of ["amd64", "arm64"]) {
          const text = decode(
            await memory.get(`dists/${channel}/main/binary-${arch}/Packages`),
          );
          const expected = records.filter((r) =>
            r.channels.includes(channel) && (r.architecture === arch || r.architecture === "all")
          );
          const stanzas = text.split("\n\n").filter((s) => s.trim() !== "");
          assert.equal(stanzas.length, expected.length, `${channel} ${arch}`);
          for (const record of expected) {
            assert.ok(
              text.includes(`Package: ${record.package_name}\n`) &&
                text.includes(`SHA256: ${record.sha256_hash}\n`) &&
                text.includes(`Filename: ${record.pool_key}\n`),
              `${record.package_id} missing from ${channel} ${arch}`,
            );
          }
        }
      }
    }),
    { numRuns: 100 },
  );
});

Deno.test("old by-hash files are kept for a while, then pruned", async () => {
  const keys = await testSigningKeys();
  let now = new Date("2026-06-01T00:00:00Z");
  const memory = new MemoryObjectStore({ now: () => now });
  const all = [];
  const byHash = () => [...memory.objects.keys()].filter((k) => /by-hash\//.test(k)).sort();
  const generations: string[][] = [];
  for (let i = 0; i < 6; i++) {
    all.push(syntheticRecord({ name: "kiro", version: `1.${i}`, architecture: "amd64" }));
    const records = await seedPool(memory, all);
    await publishRepository(records, {
      objects: memory,
      keys,
      repoUrl: REPO_URL,
      now,
      retention: { keepGenerations: 3, keepSeconds: 3600 },
    });
    const release = decode(await memory.get("dists/stable/Release"));
    const live = [...release.matchAll(/^ ([0-9a-f]{64}) +\d+ (main\/binary-amd64\/\S+)$/gm)]
      .map((m) => `dists/stable/main/binary-amd64/by-hash/SHA256/${m[1]}`);
    generations.unshift(live);
    now = new Date(now.getTime() + 2 * 3600_000); // each publish 2 h after the last
  }
  const present = new Set(byHash());
  // The 3 newest generations are all there; the older ones (replaced > 1 h ago) are gone.
  for (const key of generations.slice(0, 3).flat()) assert.ok(present.has(key), key);
  for (const key of generations.slice(3).flat()) {
    if (!generations.slice(0, 3).flat().includes(key)) assert.ok(!present.has(key), key);
  }
});

Deno.test("the pool check finds the same problems by listing or by HEADs", async () => {
  const { memory, records } = await scene();
  const [first, second] = records as [PackageRecord, PackageRecord];
  await memory.delete(first.pool_key);
  const broken = [...records, {
    ...second,
    package_id: "x#1",
    sha256_hash: "f".repeat(64),
    md5_hash: "0".repeat(32),
  }];
  const listed = await verifyPool(broken, memory, { strategy: "list" });
  const headed = await verifyPool(broken, memory, { strategy: "head" });
  assert.deepEqual(headed, listed);
  assert.equal(listed.length, 2);
  assert.match(listed.join("\n"), /is not in the bucket/);
  assert.match(listed.join("\n"), /x#1 .* has SHA-256 .* the record says ffff/);
  const store = new InstrumentedObjectStore(memory);
  await verifyPool(records, store, { strategy: "head" });
  assert.equal(store.reads.list, 0);
  assert.equal(store.reads.head, records.length);
});

Deno.test("each publish makes one CDN invalidation of the mutable paths it changed", async () => {
  const { memory, records, keys, now } = await scene();
  const calls: string[][] = [];
  const invalidator = {
    invalidate: (paths: readonly string[]) => {
      calls.push([...paths]);
      return Promise.resolve(`I${calls.length}`);
    },
  };
  const first = await publishRepository(records, {
    objects: memory,
    keys,
    repoUrl: REPO_URL,
    now,
    invalidator,
  });
  assert.deepEqual(calls, [[
    "/dists/*",
    "/index.html",
    "/kiro-archive-keyring.pgp",
    "/kiro-repo.deb",
  ]]);
  assert.deepEqual(first.invalidation, { id: "I1", paths: calls[0] });
  await publishRepository(records, { objects: memory, keys, repoUrl: REPO_URL, now, invalidator });
  assert.deepEqual(calls[1], ["/dists/*"]);
  assert.equal(calls.length, 2);
});

Deno.test("a live Release dated far in the future is not followed, with a warning", async () => {
  const { memory, records, keys, now } = await scene();
  const warnings: string[] = [];
  await memory.put(
    "dists/stable/Release",
    new TextEncoder().encode("Origin: Kiro\nDate: Sat, 01 Jan 2099 00:00:00 UTC\n"),
    { contentType: "text/plain", cacheControl: "no-cache" },
  );
  const result = await publishRepository(records, {
    objects: memory,
    keys,
    repoUrl: REPO_URL,
    now,
    onWarning: (message) => warnings.push(message),
  });
  assert.equal(result.date.toISOString(), now.toISOString());
  assert.match(warnings.join("\n"), /dated 2099-01-01T00:00:00\.000Z, more than an hour ahead/);
});

Deno.test("a new InRelease is never written in the same second as the one it replaces", async () => {
  const memory = new MemoryObjectStore();
  const records = await seedPool(memory, [
    syntheticRecord({ name: "kiro", version: "1", architecture: "amd64" }),
  ]);
  const keys = await testSigningKeys();
  const stamps: number[] = [];
  for (let i = 0; i < 3; i++) {
    await publishRepository(records, { objects: memory, keys, repoUrl: REPO_URL });
    stamps.push(
      Math.floor(memory.objects.get("dists/stable/InRelease")!.lastModified.getTime() / 1000),
    );
  }
  assert.ok(stamps[0]! < stamps[1]! && stamps[1]! < stamps[2]!, stamps.join(", "));
});

Deno.test("during a key rotation both keys sign, the keyring holds both, and it verifies", async () => {
  const { memory, records, now } = await scene();
  const [current] = await testSigningKeys();
  const next = await readSigningKeys(
    (await generateSigningKey({
      name: "Kiro Next Key",
      email: "next@kiro.invalid",
      type: "rsa3072",
      date: new Date("2020-01-01T00:00:00Z"),
    })).armoredPrivateKey,
  );
  const keys = [current!, ...next];
  await publishRepository(records, { objects: memory, keys, repoUrl: REPO_URL, now });
  const keyring = await openpgp.readKeys({
    binaryKeys: (await memory.get("kiro-archive-keyring.pgp"))!,
  });
  assert.deepEqual(
    keyring.map((key) => key.getFingerprint().toUpperCase()).sort(),
    keys.map((key) => key.fingerprint).sort(),
  );
  const html = decode(await memory.get("index.html"));
  for (const key of keys) assert.ok(html.includes(key.fingerprint), key.fingerprint);
  const report = await verifyRepository(records, {
    objects: memory,
    now: new Date(now.getTime() + 60_000),
  });
  assert.deepEqual(report.problems, []);
  assert.equal(report.checked.signatures, 8, "two signatures of two files in two channels");
});
