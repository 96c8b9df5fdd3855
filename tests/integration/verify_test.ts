import assert from "node:assert/strict";
import { freePort } from "../support/http.ts";
import { gzipSync } from "node:zlib";
import { hashBytes } from "../../lambda/hashing.ts";
import { headersFor } from "../../lambda/aws/object_headers.ts";
import { signRelease } from "../../lambda/signing/sign.ts";
import { generateSigningKey, readSigningKeys } from "../../lambda/signing/keys.ts";
import { removeObjectCommand, verifyRepository } from "../../lambda/publish/verify.ts";
import { isPublished, type PackageRecord } from "../../lambda/domain/package_record.ts";
import { MemoryObjectStore } from "../support/memory_object_store.ts";
import { publishRepository } from "../../lambda/publish/publisher.ts";
import { commandOutput } from "../../tasks/lib/command.ts";
import { missingTools } from "../support/tools.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { objectStoreFor, rebuildDependencies } from "../../lambda/dependencies.ts";
import { main as verifyMain } from "../../tasks/verify.ts";
import { main as addDebMain } from "../../tasks/add_deb.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

async function published(fn: (stack: TestStack) => Promise<void>): Promise<void> {
  const stack = await startTestStack();
  try {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const records = await seedPool(objects, [
      syntheticRecord({ name: "kiro", version: "1.0", architecture: "amd64" }),
      syntheticRecord({ name: "kiro-repo", version: "2", architecture: "all" }),
      syntheticRecord({ name: "kiro-cli", version: "0.1", architecture: "arm64" }),
    ]);
    for (const record of records) await stack.store.put(record);
    await forceRebuild(
      rebuildDependencies(stack.outputs, stack.clients, { keys: await testSigningKeys() }),
    );
    await fn(stack);
  } finally {
    await stack.close();
  }
}

async function verify(stack: TestStack, now?: Date) {
  return await verifyRepository(await stack.store.listAll(), {
    objects: objectStoreFor(stack.outputs, stack.clients),
    ...(now === undefined ? {} : { now }),
  });
}

Deno.test("a freshly published repository verifies without problems", async () => {
  await published(async (stack) => {
    const report = await verify(stack);
    assert.deepEqual(report.problems, []);
    assert.equal(report.checked.records, 3);
    assert.equal(report.checked.indexFiles, 24, "two channels, two architectures, 3 files each");
    assert.equal(report.checked.signatures, 4);
  });
});

Deno.test("verify finds a changed index file, a missing pool object and an unpublished record", async () => {
  await published(async (stack) => {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const key = "dists/stable/main/binary-amd64/Packages.gz";
    await objects.put(key, new Uint8Array(gzipSync("Package: evil\n")), headersFor(key));
    const [record] = await stack.store.listAll();
    await objects.delete(record!.pool_key);
    const extra = syntheticRecord({ name: "kiro", version: "1.1", architecture: "amd64" });
    await seedPool(objects, [extra]);
    await stack.store.put(extra.record);
    const { problems } = await verify(stack);
    const text = problems.join("\n");
    assert.match(
      text,
      /dists\/stable\/main\/binary-amd64\/Packages\.gz differs from what the records give/,
    );
    assert.match(text, new RegExp(`${record!.package_id} .* is not in the bucket`));
    assert.match(text, /dists\/stable\/Release differs from what the records give/);
  });
});

Deno.test("indexes gzipped by another runtime verify by content and by their Release lines", async () => {
  // The Lambda publishes under Node, verify runs under Deno: their gzip bytes differ.
  // Recompress every Packages.gz differently, rewrite its Release lines and by-hash
  // copy, re-sign: a repository as another compressor would have written it.
  await published(async (stack) => {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const decoder = new TextDecoder();
    let release = decoder.decode(await objects.get("dists/stable/Release"));
    for (const arch of ["amd64", "arm64"]) {
      const dir = `dists/stable/main/binary-${arch}`;
      const text = (await objects.get(`${dir}/Packages`))!;
      const before = hashBytes((await objects.get(`${dir}/Packages.gz`))!);
      const gz = new Uint8Array(gzipSync(text, { level: 1 }));
      const after = hashBytes(gz);
      assert.notEqual(after.sha256, before.sha256);
      await objects.put(`${dir}/Packages.gz`, gz, headersFor(`${dir}/Packages.gz`));
      await objects.put(
        `${dir}/by-hash/SHA256/${after.sha256}`,
        gz,
        headersFor(`${dir}/by-hash/SHA256/${after.sha256}`),
      );
      for (
        const [old, replacement] of [
          [before.md5, after.md5],
          [before.sha1, after.sha1],
          [before.sha256, after.sha256],
        ] as const
      ) {
        release = release.replace(
          new RegExp(`${old} +${before.size} main/binary-${arch}/Packages.gz`),
          `${replacement} ${String(after.size).padStart(16)} main/binary-${arch}/Packages.gz`,
        );
      }
    }
    const signed = await signRelease(release, await testSigningKeys());
    const encode = (text: string) => new TextEncoder().encode(text);
    await objects.put("dists/stable/Release", encode(release), headersFor("dists/stable/Release"));
    await objects.put(
      "dists/stable/InRelease",
      encode(signed.inRelease),
      headersFor("dists/stable/InRelease"),
    );
    await objects.put(
      "dists/stable/Release.gpg",
      encode(signed.releaseGpg),
      headersFor("dists/stable/Release.gpg"),
    );
    assert.deepEqual((await verify(stack)).problems, []);

    // Valid gzip of other content, listed honestly in the Release, is still found.
    const dir = "dists/stable/main/binary-amd64";
    const evil = new Uint8Array(gzipSync("Package: evil\n"));
    await objects.put(`${dir}/Packages.gz`, evil, headersFor(`${dir}/Packages.gz`));
    const problems = (await verify(stack)).problems.join("\n");
    assert.match(problems, /Packages\.gz does not match its line in dists\/stable\/Release/);
    assert.match(problems, /Packages\.gz differs from what the records give/);
  });
});

Deno.test("verify refuses an InRelease signed by a key outside the keyring, or altered", async () => {
  await published(async (stack) => {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const release = new TextDecoder().decode(await objects.get("dists/stable/Release"));
    const stranger = await readSigningKeys(
      (await generateSigningKey({ name: "Stranger", email: "x@example.invalid", type: "ed25519" }))
        .armoredPrivateKey,
    );
    const forged = await signRelease(release, stranger);
    await objects.put("dists/stable/InRelease", new TextEncoder().encode(forged.inRelease), {
      ...headersFor("dists/stable/InRelease"),
    });
    let problems = (await verify(stack)).problems.join("\n");
    assert.match(
      problems,
      /dists\/stable\/InRelease has a signature by key [0-9A-F]+ that does not verify/,
    );

    const honest = await signRelease(release, await testSigningKeys());
    const altered = honest.inRelease.replace("Origin: Kiro", "Origin: Evil");
    await objects.put("dists/stable/InRelease", new TextEncoder().encode(altered), {
      ...headersFor("dists/stable/InRelease"),
    });
    problems = (await verify(stack)).problems.join("\n");
    assert.match(problems, /InRelease does not sign the same text as dists\/stable\/Release/);
    assert.match(problems, /InRelease has a signature .* does not verify/);
  });
});

Deno.test("verify reports an expired Release, and warns before it expires", async () => {
  await published(async (stack) => {
    const later = await verify(stack, new Date(Date.now() + 6.5 * 86_400_000));
    assert.deepEqual(later.problems, []);
    assert.match(later.warnings.join("\n"), /expires soon/);
    const expired = await verify(stack, new Date(Date.now() + 8 * 86_400_000));
    assert.match(expired.problems.join("\n"), /expired at .* apt refuses it/);
  });
});

Deno.test("a deep verify reads every pool file and finds content that metadata hides", async () => {
  await published(async (stack) => {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const records = await stack.store.listAll();
    const shallow = await verifyRepository(records, { objects, deep: true });
    assert.deepEqual(shallow.problems, []);
    // Same size, other bytes, but the metadata still claims the record's hash.
    const victim = records[0]!;
    const original = (await objects.get(victim.pool_key))!;
    const forged = original.slice();
    forged[0] = forged[0]! ^ 0xff;
    await objects.put(victim.pool_key, forged, {
      ...headersFor(victim.pool_key),
      sha256: victim.sha256_hash,
    });
    assert.deepEqual(
      (await verifyRepository(records, { objects, poolCheck: "head" })).problems,
      [],
    );
    const deep = await verifyRepository(records, { objects, deep: true });
    assert.match(
      deep.problems.join("\n"),
      new RegExp(`${victim.package_id} .* has SHA-256 [0-9a-f]{64} \\(read in full\\)`),
    );
  });
});

/** Records published into a bucket in memory; `withdrawn` names the versions of `kiro` to withdraw. */
async function publishedInMemory(withdrawn: readonly string[] = []) {
  const objects = new MemoryObjectStore();
  const records = (await seedPool(objects, [
    syntheticRecord({ name: "kiro", version: "1.0", architecture: "amd64" }),
    syntheticRecord({ name: "kiro", version: "1.1", architecture: "amd64" }),
    syntheticRecord({ name: "kiro-repo", version: "2", architecture: "all" }),
  ])).map((record): PackageRecord =>
    record.package_name === "kiro" && withdrawn.includes(record.version)
      ? { ...record, status: "withdrawn", withdrawn_at: "2026-06-01T12:00:00Z" }
      : record
  );
  await publishRepository(records.filter(isPublished), {
    objects,
    keys: await testSigningKeys(),
    repoUrl: "https://apt.example.dev",
    sameSecondGuard: false,
  });
  return { objects, records };
}

const STRAY = "pool/main/s/stray/stray_1.0_amd64.deb";

Deno.test("an orphan pool object is reported as a warning with its removal command, and verify still passes", async () => {
  const { objects, records } = await publishedInMemory();
  await objects.put(STRAY, new TextEncoder().encode("stray"), headersFor(STRAY));
  const report = await verifyRepository(records, {
    objects,
    bucket: { name: "kiro-debian-repo-manager-repo-dev", region: "us-east-1" },
  });
  assert.deepEqual(report.problems, []);
  const command = `aws s3 rm s3://kiro-debian-repo-manager-repo-dev/${STRAY} --region us-east-1`;
  assert.equal(report.orphans.length, 1);
  assert.equal(report.orphans[0]?.key, STRAY);
  assert.equal(report.orphans[0]?.size, 5);
  assert.equal(report.orphans[0]?.removeCommand, command);
  const warning = report.warnings.find((line) => line.startsWith(STRAY));
  assert.ok(warning?.endsWith(`remove it with: ${command}`), warning ?? "no warning");

  // Without the bucket, the key and what to do.
  const bare = await verifyRepository(records, { objects });
  assert.equal(bare.orphans[0]?.removeCommand, undefined);
  assert.match(bare.warnings.join("\n"), /stray_1\.0_amd64\.deb .* delete it from the repository/);
});

Deno.test("a withdrawn record's pool object is not an orphan, and its version is not expected in the index", async () => {
  const { objects, records } = await publishedInMemory(["1.0"]);
  const report = await verifyRepository(records, { objects });
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.orphans, []);
  assert.deepEqual(report.warnings, []);
  const amd64 = new TextDecoder().decode(
    await objects.get("dists/stable/main/binary-amd64/Packages"),
  );
  assert.doesNotMatch(amd64, /Version: 1\.0\n/);
});

Deno.test("a withdrawn version still in the live index is a verify problem", async () => {
  const { objects, records } = await publishedInMemory();
  const withdrawn = records.map((record): PackageRecord =>
    record.version === "1.0" ? { ...record, status: "withdrawn" } : record
  );
  const problems = (await verifyRepository(withdrawn, { objects })).problems.join("\n");
  assert.match(problems, /binary-amd64\/Packages differs from what the records give/);
  assert.match(problems, /dists\/stable\/Release differs from what the records give/);
});

Deno.test("a withdrawn record whose pool object is gone is a warning, not a problem", async () => {
  const { objects, records } = await publishedInMemory(["1.0"]);
  const gone = records.find((record) => !isPublished(record))!;
  await objects.delete(gone.pool_key);
  const report = await verifyRepository(records, { objects });
  assert.deepEqual(report.problems, []);
  assert.match(
    report.warnings.join("\n"),
    /^Withdrawn: kiro#1\.0 \(pool\/main\/k\/kiro\/kiro_1\.0_amd64\.deb\) is not in the bucket/m,
  );
});

Deno.test("removal commands quote only the keys a shell would split or expand", () => {
  const bucket = { name: "repo", endpointUrl: "http://127.0.0.1:4568" };
  assert.equal(
    removeObjectCommand("pool/main/k/kiro/kiro_1:2.0~rc1+b1_amd64.deb", bucket),
    "aws s3 rm s3://repo/pool/main/k/kiro/kiro_1:2.0~rc1+b1_amd64.deb " +
      "--endpoint-url http://127.0.0.1:4568 --no-sign-request",
  );
  assert.equal(
    removeObjectCommand("pool/odd name's $HOME.deb", { name: "repo" }),
    `aws s3 rm 's3://repo/pool/odd name'\\''s $HOME.deb'`,
  );
});

Deno.test("the removal command verify prints removes the orphan from the local stand-in", async () => {
  if (missingTools(["aws"])) return;
  await published(async (stack) => {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const key = "pool/main/s/stray/stray_1:1.0~rc1_amd64.deb";
    await objects.put(key, new TextEncoder().encode("stray"), headersFor(key));
    const report = await verifyRepository(await stack.store.listAll(), {
      objects,
      bucket: {
        name: stack.outputs.bucketName,
        region: stack.outputs.region,
        ...(stack.outputs.endpoints === undefined
          ? {}
          : { endpointUrl: stack.outputs.endpoints.s3 }),
      },
    });
    assert.deepEqual(report.problems, []);
    const command = report.orphans[0]?.removeCommand;
    assert.ok(command !== undefined);
    await commandOutput("sh", ["-c", command]);
    assert.equal(await objects.head(key), undefined);
    assert.deepEqual((await verify(stack)).orphans, []);
  });
});

Deno.test("add-deb then verify, as tasks against a local stack they start themselves", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-add-deb-" });
  const saved = ["KIRO_LOCAL_DIR", "KIRO_LOCAL_DYNAMODB_PORT", "KIRO_LOCAL_S3_PORT", "KIRO_ENV"]
    .map((name) => [name, Deno.env.get(name)] as const);
  try {
    Deno.env.set("KIRO_LOCAL_DIR", `${dir}/state`);
    Deno.env.set("KIRO_LOCAL_DYNAMODB_PORT", String(freePort()));
    Deno.env.set("KIRO_LOCAL_S3_PORT", String(freePort()));
    Deno.env.delete("KIRO_ENV");
    const first = `${dir}/tool_1.0_amd64.deb`;
    const second = `${dir}/tool_1.0_amd64-other.deb`;
    const data = `${dir}/tool-data_3_all.deb`;
    await Deno.writeFile(
      first,
      await makeTestDeb({ name: "tool", version: "1.0", architecture: "amd64" }),
    );
    await Deno.writeFile(
      second,
      await makeTestDeb({
        name: "tool",
        version: "1.0",
        architecture: "amd64",
        description: "Other\n bytes",
      }),
    );
    await Deno.writeFile(
      data,
      await makeTestDeb({ name: "tool-data", version: "3", architecture: "all" }),
    );

    assert.equal(await addDebMain([first, data]), 0);
    assert.equal(await verifyMain(["local"]), 0);
    // Same bytes again: a no-op. Different bytes for a recorded version: refused.
    assert.equal(await addDebMain([first]), 0);
    assert.equal(await addDebMain([second]), 1);
    assert.equal(await addDebMain([`${dir}/missing.deb`]), 2);
    assert.equal(await verifyMain(["local"]), 0);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
    await Deno.remove(dir, { recursive: true });
  }
});
