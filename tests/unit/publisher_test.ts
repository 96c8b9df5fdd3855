import assert from "node:assert/strict";
import fc from "fast-check";
import {
  addGeneration,
  type GenerationManifest,
  parseManifest,
  planPrune,
  serializeManifest,
} from "../../lambda/publish/generations.ts";
import { invalidationPaths } from "../../lambda/publish/invalidation.ts";
import { mapLimit } from "../../lambda/publish/limit.ts";
import {
  DEB_CONTENT_TYPE,
  headersFor,
  IMMUTABLE_CACHE_CONTROL,
  isByHashKey,
  MUTABLE_CACHE_CONTROL,
} from "../../lambda/publish/object_headers.ts";
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
      fc.option(fc.integer({ min: 0, max: 4_000_000_000_000 }), { nil: undefined }),
      (now, live) => {
        const next = nextReleaseDate(
          new Date(now),
          live === undefined ? undefined : new Date(live),
        );
        assert.equal(next.getTime() % 1000, 0);
        assert.ok(next.getTime() <= Math.max(now, (live ?? 0) + 1000));
        assert.ok(next.getTime() >= Math.floor(now / 1000) * 1000);
        if (live !== undefined) assert.ok(next.getTime() >= Math.floor(live / 1000) * 1000 + 1000);
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
