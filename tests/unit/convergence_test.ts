import assert from "node:assert/strict";
import { isPublished, type PackageRecord } from "../../lambda/domain/package_record.ts";
import { checkConvergence, ensureConverged } from "../../lambda/publish/convergence.ts";
import { MemoryObjectStore } from "../support/memory_object_store.ts";
import { headersFor } from "../../lambda/aws/object_headers.ts";
import { publishRepository } from "../../lambda/publish/publisher.ts";
import { generateSigningKey, publicKeyring, readSigningKeys } from "../../lambda/signing/keys.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";

const REPO_URL = "https://apt.example.dev";
const AMD64 = "dists/stable/main/binary-amd64/Packages";

/** The packages table: every record, published or withdrawn. */
class Table {
  records: PackageRecord[] = [];

  listAll(): Promise<PackageRecord[]> {
    return Promise.resolve([...this.records]);
  }

  /** The record of `name` `version`. */
  find(name: string, version: string): PackageRecord {
    const record = this.records.find((candidate) =>
      candidate.package_name === name && candidate.version === version
    );
    if (record === undefined) throw new Error(`No record ${name} ${version} in the test table`);
    return record;
  }

  /** Replaces the record of `name` `version` (undefined: removes it). */
  change(name: string, version: string, replacement: PackageRecord | undefined): void {
    const at = this.records.indexOf(this.find(name, version));
    if (replacement === undefined) this.records.splice(at, 1);
    else this.records[at] = replacement;
  }
}

/** A table and a bucket with the table's published records published into it. */
async function publishedScene() {
  let clock = new Date("2026-06-01T12:00:00Z").getTime();
  const objects = new MemoryObjectStore({ now: () => new Date(clock) });
  const table = new Table();
  table.records = await seedPool(objects, [
    syntheticRecord({ name: "kiro", version: "1.0", architecture: "amd64" }),
    syntheticRecord({ name: "kiro", version: "1.1", architecture: "amd64" }),
    syntheticRecord({ name: "kiro-cli", version: "2.0", architecture: "arm64" }),
    syntheticRecord({ name: "kiro-repo", version: "1", architecture: "all" }),
  ]);
  const keys = await testSigningKeys();
  let publishes = 0;
  /** What the rebuild does: the table's published records, published. */
  const publish = async () => {
    publishes++;
    clock += 60_000;
    await publishRepository((await table.listAll()).filter(isPublished), {
      objects,
      keys,
      repoUrl: REPO_URL,
      now: new Date(clock),
      sameSecondGuard: false,
    });
  };
  await publish();
  return {
    objects,
    table,
    publish,
    publishes: () => publishes,
    check: async () => checkConvergence(await table.listAll(), { objects }),
    /** Adds a record (and its pool object) to the table without publishing. */
    record: async (name: string, version: string, architecture: string) => {
      const [record] = await seedPool(objects, [
        syntheticRecord({ name, version, architecture }),
      ]);
      table.records.push(record!);
      return record!;
    },
    withdraw: (name: string, version: string) => {
      table.change(name, version, {
        ...table.find(name, version),
        status: "withdrawn",
        withdrawn_at: new Date(clock).toISOString(),
        withdrawn_by: "tester",
        withdraw_reason: "broken build",
      });
    },
  };
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

async function replace(objects: MemoryObjectStore, key: string, content: string | Uint8Array) {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  await objects.put(key, bytes, headersFor(key));
}

Deno.test("a fresh publish is converged", async () => {
  const scene = await publishedScene();
  assert.deepEqual(await scene.check(), { converged: true, reasons: [] });
});

Deno.test("an empty bucket is not converged: no channel has a Release, and there is no keyring", async () => {
  const report = await checkConvergence([], { objects: new MemoryObjectStore() });
  assert.equal(report.converged, false);
  assert.deepEqual(report.reasons, [
    "kiro-archive-keyring.pgp is missing: the signatures cannot be checked",
    "dists/stable/Release is missing: the channel was never published",
    "dists/beta/Release is missing: the channel was never published",
  ]);
});

Deno.test("a record added to the table after publishing is not converged, and the reason names it", async () => {
  const scene = await publishedScene();
  await scene.record("kiro", "1.2", "amd64");
  const report = await scene.check();
  assert.equal(report.converged, false);
  assert.deepEqual(report.reasons, [
    `${AMD64} does not list kiro 1.2 (amd64) at pool/main/k/kiro/kiro_1.2_amd64.deb, a ` +
    "published record",
  ]);
});

Deno.test("an Architecture: all record added after publishing is missing from every architecture's index", async () => {
  const scene = await publishedScene();
  await scene.record("kiro-repo", "2", "all");
  const reasons = (await scene.check()).reasons;
  assert.equal(reasons.length, 3);
  assert.match(reasons[0]!, /binary-amd64\/Packages does not list kiro-repo 2 \(all\)/);
  assert.match(reasons[1]!, /binary-arm64\/Packages does not list kiro-repo 2 \(all\)/);
  // The newest kiro-repo is also what /kiro-repo.deb must hold.
  assert.match(reasons[2]!, /kiro-repo\.deb is not kiro-repo 2, the latest published/);
});

Deno.test("a record of a new architecture is not converged: the Release lacks its index", async () => {
  const scene = await publishedScene();
  await scene.record("kiro-board", "0.1", "riscv64");
  const reasons = (await scene.check()).reasons;
  assert.deepEqual(reasons, [
    "dists/stable/Release does not list main/binary-riscv64, which the table gives",
    "dists/stable/main/binary-riscv64/Packages is missing",
  ]);
});

Deno.test("an index the table no longer gives, still in the Release, is not converged", async () => {
  const scene = await publishedScene();
  await scene.record("kiro-board", "0.1", "riscv64");
  await scene.publish();
  scene.table.change("kiro-board", "0.1", undefined);
  const reasons = (await scene.check()).reasons;
  assert.ok(
    reasons.includes(
      "dists/stable/Release lists main/binary-riscv64, which the table does not give",
    ),
    reasons.join("\n"),
  );
});

Deno.test("a withdrawn version still in the live index is not converged", async () => {
  const scene = await publishedScene();
  scene.withdraw("kiro", "1.0");
  const report = await scene.check();
  assert.equal(report.converged, false);
  assert.deepEqual(report.reasons, [
    `${AMD64} lists kiro 1.0 (amd64) at pool/main/k/kiro/kiro_1.0_amd64.deb, which is withdrawn`,
  ]);
});

Deno.test("a withdrawn version left out of the index by the next publish is converged", async () => {
  const scene = await publishedScene();
  scene.withdraw("kiro", "1.0");
  await scene.publish();
  assert.deepEqual(await scene.check(), { converged: true, reasons: [] });
});

Deno.test("a version removed from the table but still listed is not converged", async () => {
  const scene = await publishedScene();
  scene.table.change("kiro", "1.1", undefined);
  assert.deepEqual((await scene.check()).reasons, [
    `${AMD64} lists kiro 1.1 (amd64) at pool/main/k/kiro/kiro_1.1_amd64.deb, which is not a ` +
    "record in the table",
  ]);
});

Deno.test("Release.gpg from an older publish beside a newer Release is not converged", async () => {
  const scene = await publishedScene();
  const older = await scene.objects.get("dists/stable/Release.gpg");
  await scene.record("kiro", "1.2", "amd64");
  await scene.publish();
  assert.equal((await scene.check()).converged, true);
  await replace(scene.objects, "dists/stable/Release.gpg", older!);
  const reasons = (await scene.check()).reasons;
  assert.equal(reasons.length, 1, reasons.join("\n"));
  assert.match(
    reasons[0]!,
    /^dists\/stable\/Release\.gpg has a signature by key [0-9A-F]+ that does not verify/,
  );
});

Deno.test("an InRelease from an older publish beside a newer Release is not converged", async () => {
  const scene = await publishedScene();
  const older = await scene.objects.get("dists/stable/InRelease");
  await scene.record("kiro", "1.2", "amd64");
  await scene.publish();
  await replace(scene.objects, "dists/stable/InRelease", older!);
  assert.deepEqual((await scene.check()).reasons, [
    "dists/stable/InRelease does not sign the same text as dists/stable/Release",
  ]);
});

Deno.test("a missing keyring is not converged: the signatures cannot be checked", async () => {
  const scene = await publishedScene();
  await scene.objects.delete("kiro-archive-keyring.pgp");
  assert.deepEqual((await scene.check()).reasons, [
    "kiro-archive-keyring.pgp is missing: the signatures cannot be checked",
  ]);
});

Deno.test("a Release signed by a key the live keyring lacks is not converged", async () => {
  const scene = await publishedScene();
  const other = await readSigningKeys(
    (await generateSigningKey({ name: "Next Key", email: "next@kiro.invalid", type: "ed25519" }))
      .armoredPrivateKey,
  );
  await replace(scene.objects, "kiro-archive-keyring.pgp", publicKeyring(other));
  const reasons = (await scene.check()).reasons;
  assert.equal(reasons.length, 4, reasons.join("\n"));
  for (const [index, channel] of ["stable", "beta"].entries()) {
    assert.match(
      reasons[2 * index]!,
      new RegExp(`^dists/${channel}/InRelease has a signature by key .* does not verify`),
    );
    assert.match(
      reasons[2 * index + 1]!,
      new RegExp(`^dists/${channel}/Release\\.gpg has a signature by key .* does not verify`),
    );
  }
});

Deno.test("a tampered Packages is not converged", async () => {
  const scene = await publishedScene();
  const live = text(await scene.objects.get(AMD64));
  await replace(scene.objects, AMD64, live.replace("Section: editors", "Section: games"));
  assert.deepEqual((await scene.check()).reasons, [
    `${AMD64} does not match its SHA256 line in dists/stable/Release (apt reports a Hash Sum ` +
    "mismatch)",
    `${AMD64} lists the published records but its text differs from what the table gives`,
  ]);
});

Deno.test("a Packages listing other bytes under a published version is not converged", async () => {
  const scene = await publishedScene();
  const live = text(await scene.objects.get(AMD64));
  const record = scene.table.find("kiro", "1.1");
  await replace(scene.objects, AMD64, live.replace(record!.sha256_hash, "ab".repeat(32)));
  const reasons = (await scene.check()).reasons;
  assert.equal(reasons.length, 2, reasons.join("\n"));
  assert.equal(
    reasons[1],
    `${AMD64} lists kiro 1.1 (amd64) with SHA256 ${"ab".repeat(32)} at ` +
      `pool/main/k/kiro/kiro_1.1_amd64.deb; the table has ${record!.sha256_hash} at ` +
      "pool/main/k/kiro/kiro_1.1_amd64.deb",
  );
});

Deno.test("unreadable live files are reasons, never a throw", async () => {
  const scene = await publishedScene();
  await replace(scene.objects, AMD64, "this is not\n a Packages file\n");
  await replace(scene.objects, "kiro-archive-keyring.pgp", "not a keyring");
  const reasons = (await scene.check()).reasons;
  assert.match(reasons.join("\n"), /Cannot read the keyring kiro-archive-keyring\.pgp/);
  assert.match(reasons.join("\n"), /binary-amd64\/Packages is not a readable Packages file/);

  await replace(scene.objects, "dists/stable/Release", " no field here\n");
  const broken = await scene.check();
  assert.equal(broken.converged, false);
  assert.match(broken.reasons[0]!, /^dists\/stable\/Release is not readable: /);
});

Deno.test("a missing Packages is not converged", async () => {
  const scene = await publishedScene();
  await scene.objects.delete(AMD64);
  assert.deepEqual((await scene.check()).reasons, [`${AMD64} is missing`]);
});

Deno.test("many differences in one index are counted rather than all listed", async () => {
  const scene = await publishedScene();
  for (let i = 0; i < 5; i++) await scene.record("kiro", `1.${i + 2}`, "amd64");
  const reasons = (await checkConvergence(await scene.table.listAll(), scene, {
    maxReasonsPerIndex: 2,
  })).reasons;
  assert.equal(reasons.length, 3);
  assert.equal(reasons[2], `${AMD64}: 3 more difference(s)`);
});

Deno.test("each channel is checked under its own dists/: a channel never published is a reason", async () => {
  const scene = await publishedScene();
  const records = await scene.table.listAll();
  const report = await checkConvergence(records, scene, {
    channels: ["stable", "beta", "nightly"],
  });
  assert.deepEqual(report.reasons, [
    "dists/nightly/Release is missing: the channel was never published",
  ]);
});

/** A bucket whose `Packages` cannot be read (an error other than not-found). */
class UnreachablePackages extends MemoryObjectStore {
  override get(key: string): Promise<Uint8Array | undefined> {
    if (key.endsWith("/Packages")) return Promise.reject(new Error("Connection reset by peer"));
    return super.get(key);
  }
}

Deno.test("an object store error other than not-found is thrown, not taken for a reason", async () => {
  const scene = await publishedScene();
  const objects = new UnreachablePackages();
  for (const [key, object] of scene.objects.objects) objects.objects.set(key, object);
  await assert.rejects(
    async () => await checkConvergence(await scene.table.listAll(), { objects }),
    /Connection reset by peer/,
  );
});

Deno.test("ensureConverged does not publish a converged repository", async () => {
  const scene = await publishedScene();
  const result = await ensureConverged({
    objects: scene.objects,
    store: scene.table,
    publish: scene.publish,
  });
  assert.deepEqual(result, { published: false, reasons: [] });
  assert.equal(scene.publishes(), 1);
});

Deno.test("ensureConverged publishes exactly once when the table has moved on, and then it is converged", async () => {
  const scene = await publishedScene();
  await scene.record("kiro", "1.2", "amd64");
  scene.withdraw("kiro", "1.0");
  const deps = { objects: scene.objects, store: scene.table, publish: scene.publish };
  const result = await ensureConverged(deps);
  assert.equal(result.published, true);
  assert.equal(result.reasons.length, 2, result.reasons.join("\n"));
  assert.equal(scene.publishes(), 2);
  assert.deepEqual(await ensureConverged(deps), { published: false, reasons: [] });
  assert.equal(scene.publishes(), 2);
});
