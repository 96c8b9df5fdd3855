import assert from "node:assert/strict";
import { PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { packageId, type PackageRecord } from "../../lambda/domain/package_record.ts";
import {
  DEFAULT_SCAN_SEGMENTS,
  InvalidRecordError,
  PackageStore,
  RecordConflictError,
  UNPUBLISHED_ATTRIBUTES,
} from "../../lambda/store/package_store.ts";
import { withTestStack } from "../support/stack.ts";

function record(
  name: string,
  version: string,
  overrides: Partial<PackageRecord> = {},
): PackageRecord {
  const sha = Array.from(name + version).reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  return {
    package_id: packageId(name, version),
    package_name: name,
    version,
    architecture: "amd64",
    package_type: "external_download",
    pub_date: "2026-01-02T03:04:05Z",
    processed_timestamp: "2026-11-22T12:00:00.000Z",
    deb_url: `https://example.invalid/${name}_${version}_amd64.deb`,
    actual_filename: `${name}_${version}_amd64.deb`,
    pool_key: `pool/main/${name[0]}/${name}/${name}_${version}_amd64.deb`,
    file_size: 1234,
    md5_hash: sha.toString(16).padStart(32, "0"),
    sha1_hash: sha.toString(16).padStart(40, "0"),
    sha256_hash: sha.toString(16).padStart(64, "0"),
    section: "editors",
    priority: "optional",
    maintainer: "Kiro Team <support@kiro.dev>",
    homepage: "https://kiro.dev",
    description: "Kiro\n An editor",
    control: {
      Package: name,
      Version: version,
      Architecture: "amd64",
      "Installed-Size": "5",
      Depends: "libc6 (>= 2.31)",
    },
    ...overrides,
  };
}

Deno.test("a recorded version reads back exactly as written", () =>
  withTestStack(async ({ store }) => {
    const written = record("kiro", "1.0.337", { notes: "first", certificate_url: "https://c" });
    assert.equal(await store.put(written), "created");
    assert.deepEqual(
      await store.get({ package_name: "kiro", version: "1.0.337", architecture: "amd64" }),
      written,
    );
    assert.equal(
      await store.has({ package_name: "kiro", version: "1.0.337", architecture: "amd64" }),
      true,
    );
    assert.equal(
      await store.has({ package_name: "kiro", version: "1.0.338", architecture: "amd64" }),
      false,
    );
    assert.equal(
      await store.get({ package_name: "kiro", version: "1.0.338", architecture: "amd64" }),
      undefined,
    );
  }));

Deno.test("optional fields that are absent are not stored", () =>
  withTestStack(async ({ store, clients, outputs }) => {
    const { depends: _, ...rest } = record("kiro-cli", "0.1");
    const written: PackageRecord = { ...rest, notes: undefined } as unknown as PackageRecord;
    await store.put(written);
    const { Items } = await clients.dynamo.send(new ScanCommand({ TableName: outputs.tableName }));
    const item = Items?.[0] ?? {};
    assert.equal("notes" in item, false);
    assert.equal("depends" in item, false);
    assert.equal(item.file_size, 1234);
  }));

Deno.test("re-recording the same content is a no-op that keeps the first record", () =>
  withTestStack(async ({ store }) => {
    const first = record("kiro", "2.0");
    await store.put(first);
    const again = {
      ...first,
      processed_timestamp: "2027-01-01T00:00:00.000Z",
      deb_url: "file:///elsewhere/kiro.deb",
      control: { ...first.control }, // same fields, built afresh
    };
    assert.equal(await store.put(again), "unchanged");
    assert.deepEqual(
      await store.get({ package_name: "kiro", version: "2.0", architecture: "amd64" }),
      first,
    );
  }));

Deno.test("recording different bytes under a recorded version is refused and names the fields", () =>
  withTestStack(async ({ store }) => {
    const first = record("kiro", "3.0");
    await store.put(first);
    const other = { ...first, sha256_hash: "f".repeat(64), file_size: 99 };
    const error = await store.put(other).then(
      () => assert.fail("put should have thrown"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RecordConflictError);
    assert.equal(error.packageId, "kiro#3.0");
    assert.deepEqual(error.fields, ["file_size", "sha256_hash"]);
    assert.match(error.message, /kiro 3\.0 \(amd64\)/);
    assert.match(error.message, /file_size, sha256_hash/);
    assert.match(error.message, /new version/);
    assert.deepEqual(
      await store.get({ package_name: "kiro", version: "3.0", architecture: "amd64" }),
      first,
    );
  }));

Deno.test("a changed control paragraph under a recorded version is refused", () =>
  withTestStack(async ({ store }) => {
    const first = record("kiro", "3.1");
    await store.put(first);
    const other = { ...first, control: { ...first.control, Depends: "libc6" } };
    await assert.rejects(() => store.put(other), RecordConflictError);
  }));

Deno.test("a record whose package_id does not match its name and version is refused", () =>
  withTestStack(async ({ store }) => {
    await assert.rejects(
      () => store.put({ ...record("kiro", "1.0"), package_id: "kiro#1.1" }),
      (e: unknown) =>
        e instanceof InvalidRecordError && /package_id must be "kiro#1\.0"/.test(e.message),
    );
    assert.equal(
      await store.has({ package_name: "kiro", version: "1.1", architecture: "amd64" }),
      false,
    );
  }));

Deno.test("listAll reads every page of a table larger than one 1 MB scan page", () =>
  withTestStack(async ({ store, clients, outputs }) => {
    const big = "x".repeat(8_000);
    const count = 300; // ≈ 2.4 MB
    for (let start = 0; start < count; start += 25) {
      await Promise.all(
        Array.from(
          { length: Math.min(25, count - start) },
          (_, i) => store.put(record("kiro", `1.0.${start + i}`, { description: `Kiro\n ${big}` })),
        ),
      );
    }
    const first = await clients.dynamo.send(new ScanCommand({ TableName: outputs.tableName }));
    assert.ok(
      first.LastEvaluatedKey !== undefined,
      "one Scan call must not return the whole table",
    );
    assert.ok((first.Items?.length ?? 0) < count);
    const all = await store.listAll();
    assert.equal(all.length, count);
    assert.deepEqual(
      all.map((r) => r.version),
      Array.from({ length: count }, (_, i) => `1.0.${i}`),
    );
  }));

Deno.test("listAll scans its segments in parallel and each segment reads every page", () =>
  withTestStack(async ({ store, clients, outputs }) => {
    const big = "x".repeat(20_000);
    const count = 300; // ≈ 6 MB: more than one 1 MB page in each segment
    for (let start = 0; start < count; start += 25) {
      await Promise.all(
        Array.from(
          { length: Math.min(25, count - start) },
          (_, i) => store.put(record("kiro", `1.0.${start + i}`, { description: `Kiro\n ${big}` })),
        ),
      );
    }
    const scans: { segment: unknown; total: unknown; from: boolean }[] = [];
    clients.dynamo.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === "ScanCommand") {
          const input = args.input as Record<string, unknown>;
          scans.push({
            segment: input.Segment,
            total: input.TotalSegments,
            from: input.ExclusiveStartKey !== undefined,
          });
        }
        return next(args);
      },
      { step: "initialize", name: "recordScans" },
    );
    try {
      const parallel = await store.listAll();
      assert.equal(DEFAULT_SCAN_SEGMENTS > 1, true);
      assert.deepEqual(
        [...new Set(scans.map((scan) => scan.segment))].sort(),
        Array.from({ length: DEFAULT_SCAN_SEGMENTS }, (_, i) => i),
        "every segment is scanned",
      );
      assert.ok(scans.every((scan) => scan.total === DEFAULT_SCAN_SEGMENTS));
      assert.ok(scans.some((scan) => scan.from), "some segment reads a second page");
      scans.length = 0;
      const sequential = await new PackageStore(clients.dynamo, outputs.tableName, {
        scanSegments: 1,
      }).listAll();
      assert.ok(scans.every((scan) => scan.segment === undefined && scan.total === undefined));
      assert.equal(parallel.length, count);
      assert.deepEqual(parallel, sequential);
    } finally {
      clients.dynamo.middlewareStack.remove("recordScans");
    }
  }));

Deno.test("listAll for publishing leaves out the release notes and the audit, and keeps the rest", () =>
  withTestStack(async ({ store }) => {
    const written = record("kiro", "1.0.337", {
      notes: "Long release notes",
      certificate_url: "https://c",
      signature_url: "https://s",
      channels: ["stable", "beta"],
      channel_history: [{
        channel: "beta",
        action: "added",
        at: "2026-12-01T00:00:00.000Z",
        by: "test",
        reason: "test",
      }],
    });
    await store.put(written);
    await store.setStatus(written, {
      status: "withdrawn",
      at: "2026-12-02T00:00:00.000Z",
      by: "op",
      reason: "bad",
    });
    const [full] = await store.listAll();
    const [projected] = await store.listAll({ forPublishing: true });
    assert.ok(full !== undefined && projected !== undefined);
    const kept = { ...full } as Record<string, unknown>;
    for (const name of UNPUBLISHED_ATTRIBUTES) {
      assert.notEqual(kept[name], undefined, `the test record has ${name}`);
      delete kept[name];
    }
    assert.deepEqual(projected, kept);
    assert.equal(projected.status, "withdrawn");
    assert.deepEqual(projected.channels, ["stable", "beta"]);
  }));

Deno.test("a store refuses a segment count DynamoDB would refuse", () =>
  withTestStack(({ clients, outputs }) => {
    for (const scanSegments of [0, 1.5, -1]) {
      assert.throws(
        () => new PackageStore(clients.dynamo, outputs.tableName, { scanSegments }),
        /Invalid scanSegments .*: give a whole number from 1/,
      );
    }
    return Promise.resolve();
  }));

Deno.test("listAll skips non-package items such as the lease", () =>
  withTestStack(async ({ store, clients, outputs }) => {
    await store.put(record("kiro", "1.0"));
    await clients.dynamo.send(
      new PutCommand({
        TableName: outputs.tableName,
        Item: {
          package_id: "__lease#publisher",
          architecture: "__",
          holder: "someone",
          expires_at: 1,
        },
      }),
    );
    assert.deepEqual((await store.listAll()).map((r) => r.package_id), ["kiro#1.0"]);
  }));

Deno.test("listByName returns only that name's versions, in dpkg order", () =>
  withTestStack(async ({ store }) => {
    for (const v of ["1.10", "1:0.1", "1.9", "1.9~rc1", "1.9+b1"]) {
      await store.put(record("kiro", v));
    }
    await store.put(record("kiro-repo", "1.0"));
    await store.put(record("kiro-cli", "5.0"));
    const kiro = await store.listByName("kiro");
    assert.deepEqual(kiro.map((r) => r.version), ["1.9~rc1", "1.9", "1.9+b1", "1.10", "1:0.1"]);
    assert.equal((await store.latest("kiro"))?.version, "1:0.1");
    assert.equal((await store.latest("kiro-repo"))?.version, "1.0");
    assert.equal(await store.latest("nothing"), undefined);
  }));

Deno.test("listByName pages through the index", () =>
  withTestStack(async ({ clients, outputs }) => {
    // A store whose Query pages hold 1 MB: 200 items of 8 kB need two pages.
    const store = new PackageStore(clients.dynamo, outputs.tableName);
    const big = "y".repeat(8_000);
    for (let start = 0; start < 200; start += 25) {
      await Promise.all(
        Array.from(
          { length: 25 },
          (_, i) => store.put(record("kiro", `2.${start + i}`, { description: big })),
        ),
      );
    }
    assert.equal((await store.listByName("kiro")).length, 200);
  }));

// Properties of the package store (`docs/design.md`, "Data model"), checked against the
// DynamoDB stand-in.
const names = fc.constantFrom("kiro", "kiro-repo", "kiro-cli", "libkiro0", "kiro.tools");
const versions = fc.tuple(fc.nat(20), fc.nat(20), fc.option(fc.nat(9), { nil: undefined }))
  .map(([a, b, c]) => c === undefined ? `${a}.${b}` : `${a}.${b}~rc${c}`);
const recordsArb = fc.uniqueArray(fc.tuple(names, versions), {
  selector: ([n, v]) => `${n}#${v}`,
  maxLength: 12,
}).map((pairs) => pairs.map(([n, v]) => record(n, v)));

Deno.test("records of every package type are retrievable and keep their type", () =>
  withTestStack(async (stack) => {
    const types = fc.constantFrom("external_download", "build_script", "github_release", "upload");
    await fc.assert(
      fc.asyncProperty(
        recordsArb,
        fc.array(types, { minLength: 12, maxLength: 12 }),
        async (rs, ts) => {
          await stack.clearTable();
          const typed = rs.map((
            r,
            i,
          ) => ({ ...r, package_type: ts[i] ?? "upload" } as PackageRecord));
          for (const r of typed) await stack.store.put(r);
          for (const r of typed) {
            const back = await stack.store.get({
              package_name: r.package_name,
              version: r.version,
              architecture: "amd64",
            });
            assert.equal(back?.package_type, r.package_type);
            assert.equal(back?.package_name, r.package_name);
          }
        },
      ),
      { numRuns: 100 },
    );
  }));

Deno.test("every stored record keeps every required field", () =>
  withTestStack(async (stack) => {
    const required = [
      "package_name",
      "version",
      "architecture",
      "deb_url",
      "actual_filename",
      "file_size",
      "md5_hash",
      "sha1_hash",
      "sha256_hash",
      "section",
      "priority",
      "maintainer",
      "homepage",
      "description",
      "pub_date",
      "processed_timestamp",
      "package_type",
    ] as const;
    await fc.assert(
      fc.asyncProperty(recordsArb, async (rs) => {
        await stack.clearTable();
        for (const r of rs) await stack.store.put(r);
        for (const back of await stack.store.listAll()) {
          const original = rs.find((r) => r.package_id === back.package_id);
          for (const field of required) assert.deepEqual(back[field], original?.[field], field);
        }
      }),
      { numRuns: 100 },
    );
  }));

Deno.test("listAll returns exactly the N records stored", () =>
  withTestStack(async (stack) => {
    await fc.assert(
      fc.asyncProperty(recordsArb, async (rs) => {
        await stack.clearTable();
        for (const r of rs) await stack.store.put(r);
        const all = await stack.store.listAll();
        assert.equal(all.length, rs.length);
        assert.deepEqual(
          all.map((r) => r.package_id).sort(),
          rs.map((r) => r.package_id).sort(),
        );
      }),
      { numRuns: 100 },
    );
  }));

Deno.test("listByName returns exactly the records with that name", () =>
  withTestStack(async (stack) => {
    await fc.assert(
      fc.asyncProperty(recordsArb, names, async (rs, name) => {
        await stack.clearTable();
        for (const r of rs) await stack.store.put(r);
        const found = await stack.store.listByName(name);
        assert.ok(found.every((r) => r.package_name === name));
        assert.deepEqual(
          found.map((r) => r.package_id).sort(),
          rs.filter((r) => r.package_name === name).map((r) => r.package_id).sort(),
        );
      }),
      { numRuns: 100 },
    );
  }));
