import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { gunzipSync } from "node:zlib";
import { xz } from "@napi-rs/lzma";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { poolKey } from "../../lambda/domain/pool_path.ts";
import { compareVersions } from "../../lambda/domain/version.ts";
import {
  type GeneratedIndexes,
  generateIndexes,
  type IndexOptions,
} from "../../lambda/repo/indexes.ts";
import { parseStanzas } from "../../lambda/repo/stanza.ts";

const ARCHES = ["amd64", "arm64"];
const options: IndexOptions = {
  suite: "stable",
  codename: "stable",
  architectures: ARCHES,
  origin: "Kiro",
  label: "Kiro",
  description: "Kiro packages",
  version: "1.0",
  date: new Date("2026-11-22T14:00:00Z"),
  validUntil: new Date("2026-11-29T14:00:00Z"),
};

const versionArb = fc.stringMatching(
  /^([0-9]:)?[0-9]{1,3}(\.[0-9]{1,3}){0,2}(~rc[0-9])?(-[0-9](\+b1)?)?$/,
);
const entryArb = fc.record({
  name: fc.constantFrom("kiro", "kiro-repo", "kiro-cli", "libkiro1", "kiro-doc"),
  version: versionArb,
  architecture: fc.constantFrom("amd64", "arm64", "all"),
  fromControl: fc.boolean(),
});

function makeRecord(
  e: { name: string; version: string; architecture: string; fromControl: boolean },
): PackageRecord {
  const key = `${e.name}|${e.version}|${e.architecture}`;
  const digest = (alg: string) => createHash(alg).update(key).digest("hex");
  return {
    package_id: `${e.name}#${e.version}`,
    package_name: e.name,
    version: e.version,
    architecture: e.architecture,
    package_type: "upload",
    pub_date: "",
    processed_timestamp: "",
    deb_url: "",
    actual_filename: "",
    pool_key: poolKey(e),
    file_size: key.length * 1000,
    md5_hash: digest("md5"),
    sha1_hash: digest("sha1"),
    sha256_hash: digest("sha256"),
    section: "utils",
    priority: "optional",
    maintainer: "Kiro <kiro@example.invalid>",
    homepage: "https://kiro.dev",
    description: `${e.name}\nLong text for ${key}.`,
    control: e.fromControl
      ? {
        Package: e.name,
        Version: e.version,
        Architecture: e.architecture,
        "Installed-Size": "12",
      }
      : {},
  };
}

/** Sets of records with no two that apt would hold to be the same package version. */
const recordsArb = fc
  .array(entryArb, { maxLength: 25 })
  .map((entries) => {
    const kept: typeof entries = [];
    for (const e of entries) {
      if (
        !kept.some((k) =>
          k.name === e.name && k.architecture === e.architecture &&
          compareVersions(k.version, e.version) === 0
        )
      ) kept.push(e);
    }
    return kept.map(makeRecord);
  });

const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const sha = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest("hex");

/** The Release checksum sections: section → path → {digest, size}. */
function releaseSums(release: string): Map<string, Map<string, { digest: string; size: number }>> {
  const sections = new Map<string, Map<string, { digest: string; size: number }>>();
  let current: Map<string, { digest: string; size: number }> | undefined;
  for (const line of release.split("\n")) {
    if (/^(MD5Sum|SHA1|SHA256):$/.test(line)) {
      current = new Map();
      sections.set(line.slice(0, -1), current);
    } else if (line.startsWith(" ") && current) {
      const [digest, size, path] = line.trim().split(/\s+/);
      current.set(path!, { digest: digest!, size: Number(size) });
    } else current = undefined;
  }
  return sections;
}

function indexFiles(out: GeneratedIndexes) {
  return out.files.filter((f) => f.kind === "index");
}

Deno.test("every record appears in the Packages of its architecture (all: of every one)", async () => {
  await fc.assert(
    fc.asyncProperty(recordsArb, async (records) => {
      const out = await generateIndexes(records, options);
      for (const arch of ARCHES) {
        const file = out.files.find((f) => f.path === `dists/stable/main/binary-${arch}/Packages`)!;
        const listed = parseStanzas(decode(file.bytes)).map((s) =>
          `${s.Package} ${s.Version} ${s.Architecture} ${s.SHA256}`
        );
        const expected = records
          .filter((r) => r.architecture === arch || r.architecture === "all")
          .map((r) => `${r.package_name} ${r.version} ${r.architecture} ${r.sha256_hash}`);
        assert.deepEqual([...listed].sort(), [...expected].sort());
        assert.equal(out.counts[arch], expected.length);
      }
    }),
    { numRuns: 100 },
  );
});

Deno.test("Release sizes and checksums match the bytes of every file, compressed or not", async () => {
  await fc.assert(
    fc.asyncProperty(recordsArb, async (records) => {
      const out = await generateIndexes(records, options);
      const sums = releaseSums(out.release);
      assert.deepEqual([...sums.keys()], ["MD5Sum", "SHA1", "SHA256"]);
      for (const file of indexFiles(out)) {
        for (const [section, alg] of [["MD5Sum", "md5"], ["SHA1", "sha1"], ["SHA256", "sha256"]]) {
          const entry = sums.get(section!)!.get(file.canonicalName);
          assert.ok(entry, `${file.canonicalName} missing from ${section}`);
          assert.equal(entry.digest, sha(alg!, file.bytes));
          assert.equal(entry.size, file.bytes.byteLength);
        }
      }
      // The compressed variants hold exactly the uncompressed index.
      for (const arch of ARCHES) {
        const get = (n: string) =>
          out.files.find((f) =>
            f.canonicalName === `main/binary-${arch}/${n}` && f.kind === "index"
          )!.bytes;
        assert.deepEqual(new Uint8Array(gunzipSync(get("Packages.gz"))), get("Packages"));
        assert.deepEqual(new Uint8Array(await xz.decompress(get("Packages.xz"))), get("Packages"));
      }
    }),
    { numRuns: 100 },
  );
});

Deno.test("the Release file has every required field", async () => {
  await fc.assert(
    fc.asyncProperty(
      recordsArb,
      fc.date({ min: new Date("2000-01-01"), max: new Date("2090-01-01"), noInvalidDate: true }),
      fc.integer({ min: 1, max: 365 * 86400 }),
      async (records, date, validFor) => {
        const validUntil = new Date(date.getTime() + validFor * 1000);
        const out = await generateIndexes(records, { ...options, date, validUntil });
        const fields = parseStanzas(out.release)[0]!;
        for (
          const name of [
            "Origin",
            "Label",
            "Suite",
            "Codename",
            "Version",
            "Architectures",
            "Components",
            "Description",
            "Date",
            "Valid-Until",
            "Acquire-By-Hash",
            "MD5Sum",
            "SHA1",
            "SHA256",
          ]
        ) assert.ok(fields[name] !== undefined, `${name} missing`);
        assert.equal(fields.Architectures, "amd64 arm64");
        assert.equal(fields.Components, "main");
        assert.match(
          fields.Date!,
          /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} UTC$/,
        );
        assert.equal(
          new Date(fields.Date!.replace("UTC", "GMT")).getTime(),
          Math.floor(date.getTime() / 1000) * 1000,
        );
        assert.equal(
          new Date(fields["Valid-Until"]!.replace("UTC", "GMT")).getTime(),
          Math.floor(validUntil.getTime() / 1000) * 1000,
        );
        assert.doesNotMatch(out.release, /[ \t]\n/);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("the same records in any order give the same bytes", async () => {
  await fc.assert(
    fc.asyncProperty(
      recordsArb.chain((records) =>
        fc.tuple(fc.constant(records), fc.shuffledSubarray(records, { minLength: records.length }))
      ),
      async ([records, shuffled]) => {
        const a = await generateIndexes(records, options);
        const b = await generateIndexes(shuffled, {
          ...options,
          architectures: [...ARCHES].reverse(),
        });
        assert.equal(a.release, b.release);
        assert.deepEqual(a.files.map((f) => f.path), b.files.map((f) => f.path));
        a.files.forEach((f, i) => assert.deepEqual(f.bytes, b.files[i]!.bytes));
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("Release lists exactly the generated index files, and by-hash copies are named by their SHA-256", async () => {
  await fc.assert(
    fc.asyncProperty(recordsArb, async (records) => {
      const out = await generateIndexes(records, options);
      const listed = [...releaseSums(out.release).get("SHA256")!.keys()].sort();
      const generated = indexFiles(out).map((f) => f.canonicalName).sort();
      assert.deepEqual(listed, generated);
      for (const file of indexFiles(out)) {
        assert.equal(file.path, `dists/stable/${file.canonicalName}`);
      }
      const byHash = out.files.filter((f) => f.kind === "by-hash");
      assert.equal(byHash.length, generated.length);
      for (const copy of byHash) {
        const digest = sha("sha256", copy.bytes);
        assert.equal(copy.sha256, digest);
        const dir = copy.canonicalName.slice(0, copy.canonicalName.lastIndexOf("/"));
        assert.equal(copy.path, `dists/stable/${dir}/by-hash/SHA256/${digest}`);
        const original = indexFiles(out).find((f) => f.canonicalName === copy.canonicalName)!;
        assert.deepEqual(copy.bytes, original.bytes);
      }
    }),
    { numRuns: 100 },
  );
});
