/**
 * `/kiro-repo.deb` follows the latest *published* kiro-repo: when the only
 * one is withdrawn (or gone from the table) the next publish deletes it and
 * invalidates its path, and verify and the convergence check report a copy
 * left behind; when the newest of two is withdrawn, the copy goes back to the
 * previous one's bytes.
 */

import assert from "node:assert/strict";
import { isPublished, type PackageRecord } from "../../lambda/domain/package_record.ts";
import { headersFor } from "../../lambda/aws/object_headers.ts";
import { checkConvergence } from "../../lambda/publish/convergence.ts";
import { KIRO_REPO_DEB_KEY, publishRepository } from "../../lambda/publish/publisher.ts";
import { verifyRepository } from "../../lambda/publish/verify.ts";
import { MemoryObjectStore } from "../support/memory_object_store.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";

const REPO_URL = "https://apt.example.dev";

/** A bucket, the table's records, and a publish of the published ones (as the rebuild does). */
async function scene(kiroRepoVersions: readonly string[]) {
  let clock = new Date("2026-06-01T12:00:00Z").getTime();
  const objects = new MemoryObjectStore({ now: () => new Date(clock) });
  let table: PackageRecord[] = await seedPool(objects, [
    syntheticRecord({ name: "kiro", version: "1.0.337", architecture: "amd64" }),
    ...kiroRepoVersions.map((version) =>
      syntheticRecord({ name: "kiro-repo", version, architecture: "all" })
    ),
  ]);
  const keys = await testSigningKeys();
  const invalidated: string[][] = [];
  const invalidator = {
    invalidate: (paths: readonly string[]) => {
      invalidated.push([...paths]);
      return Promise.resolve(`I${invalidated.length}`);
    },
  };
  const kiroRepo = (version: string) =>
    table.find((record) => record.package_name === "kiro-repo" && record.version === version)!;
  return {
    objects,
    invalidated,
    kiroRepo,
    table: () => table,
    publish: async () => {
      clock += 60_000;
      return await publishRepository(table.filter(isPublished), {
        objects,
        keys,
        repoUrl: REPO_URL,
        now: new Date(clock),
        invalidator,
        sameSecondGuard: false,
      });
    },
    verify: () => verifyRepository(table, { objects, now: new Date(clock) }),
    converged: () => checkConvergence(table, { objects }),
    withdraw: (version: string) => {
      table = table.map((record) =>
        record === kiroRepo(version)
          ? {
            ...record,
            status: "withdrawn",
            withdrawn_at: new Date(clock).toISOString(),
            withdrawn_by: "tester",
            withdraw_reason: "breaks apt update",
          }
          : record
      );
    },
    remove: (version: string) => {
      table = table.filter((record) => record !== kiroRepo(version));
    },
  };
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

Deno.test("withdrawing the only kiro-repo deletes /kiro-repo.deb and invalidates its path", async () => {
  const repo = await scene(["1.0"]);
  await repo.publish();
  assert.ok(repo.objects.objects.has(KIRO_REPO_DEB_KEY));

  repo.withdraw("1.0");
  const result = await repo.publish();
  assert.equal(repo.objects.objects.has(KIRO_REPO_DEB_KEY), false);
  assert.ok(result.invalidation?.paths.includes("/kiro-repo.deb"), JSON.stringify(result));
  assert.deepEqual(repo.invalidated.at(-1), result.invalidation?.paths);
  // The withdrawn identity keeps its bytes in the pool; the page stops offering the copy.
  assert.ok(repo.objects.objects.has(repo.kiroRepo("1.0").pool_key));
  assert.doesNotMatch(text(repo.objects.objects.get("index.html")?.bytes), /kiro-repo\.deb/);

  const report = await repo.verify();
  assert.deepEqual(report.problems, []);
  assert.deepEqual(await repo.converged(), { converged: true, reasons: [] });

  // Nothing left to delete: the next publish does not invalidate the path again.
  const again = await repo.publish();
  assert.equal(again.invalidation?.paths.includes("/kiro-repo.deb") ?? false, false);
});

Deno.test("a kiro-repo gone from the table takes /kiro-repo.deb with it", async () => {
  const repo = await scene(["1.0"]);
  await repo.publish();
  repo.remove("1.0");
  const result = await repo.publish();
  assert.equal(repo.objects.objects.has(KIRO_REPO_DEB_KEY), false);
  assert.ok(result.invalidation?.paths.includes("/kiro-repo.deb"), JSON.stringify(result));
});

Deno.test("a /kiro-repo.deb put back while no kiro-repo is published is a verify problem and not converged", async () => {
  const repo = await scene(["1.0"]);
  await repo.publish();
  repo.withdraw("1.0");
  await repo.publish();

  const withdrawn = repo.kiroRepo("1.0");
  await repo.objects.copy(withdrawn.pool_key, KIRO_REPO_DEB_KEY, {
    ...headersFor(KIRO_REPO_DEB_KEY),
    sha256: withdrawn.sha256_hash,
  });
  const report = await repo.verify();
  assert.equal(report.problems.length, 1, report.problems.join("\n"));
  assert.match(report.problems[0]!, /^kiro-repo\.deb exists but no kiro-repo is published/);
  assert.match(report.problems[0]!, /deno task rebuild/);
  const convergence = await repo.converged();
  assert.equal(convergence.converged, false);
  assert.ok(
    convergence.reasons.some((reason) => reason.includes("kiro-repo.deb exists")),
    convergence.reasons.join("\n"),
  );

  // The next publish takes it away again.
  await repo.publish();
  assert.deepEqual((await repo.verify()).problems, []);
});

Deno.test("withdrawing the newest of two kiro-repo versions puts the previous one's bytes at /kiro-repo.deb", async () => {
  const repo = await scene(["1.0", "1.1"]);
  await repo.publish();
  const bytes = (key: string) => repo.objects.objects.get(key)?.bytes;
  assert.deepEqual(bytes(KIRO_REPO_DEB_KEY), bytes(repo.kiroRepo("1.1").pool_key));

  repo.withdraw("1.1");
  const result = await repo.publish();
  assert.deepEqual(bytes(KIRO_REPO_DEB_KEY), bytes(repo.kiroRepo("1.0").pool_key));
  assert.notDeepEqual(bytes(KIRO_REPO_DEB_KEY), bytes(repo.kiroRepo("1.1").pool_key));
  assert.equal(
    repo.objects.objects.get(KIRO_REPO_DEB_KEY)?.metadata.sha256,
    repo.kiroRepo("1.0").sha256_hash,
  );
  assert.ok(result.written.includes(KIRO_REPO_DEB_KEY));
  assert.ok(result.invalidation?.paths.includes("/kiro-repo.deb"), JSON.stringify(result));
  assert.match(text(bytes("index.html")), /kiro-repo\.deb/);
  assert.deepEqual((await repo.verify()).problems, []);
  assert.deepEqual(await repo.converged(), { converged: true, reasons: [] });
});
