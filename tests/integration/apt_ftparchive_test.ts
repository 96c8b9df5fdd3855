/**
 * Our `Packages` stanzas against `apt-ftparchive packages` for the same files:
 * real Debian packages and generated ones with tricky versions and fields.
 * Both outputs are compared as text with only the SHA512 line removed (which
 * the records do not carry), so field names, values and order must all match.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { readDebBytes } from "../../lambda/deb/deb_reader.ts";
import { recordFromDeb } from "../../lambda/domain/record_from_deb.ts";
import { generateIndexes } from "../../lambda/repo/indexes.ts";
import { packagesStanza, parseStanzas } from "../../lambda/repo/stanza.ts";
import { makeTestDeb, type TestDebOptions } from "../support/deb_fixtures.ts";
import { debianPackagesMissing, fetchDebianPackages } from "../support/debian_packages.ts";
import { missingTools } from "../support/tools.ts";

/** The record an ingest would write for `bytes`. */
async function recordOf(bytes: Uint8Array, fileName: string): Promise<PackageRecord> {
  return recordFromDeb(await readDebBytes(bytes, { name: fileName }), {
    packageType: "upload",
    debUrl: `file://${fileName}`,
    fileName,
    processedAt: new Date("2026-01-01T00:00:00Z"),
    architectures: undefined,
  });
}

/** Lays the files out at their pool keys and runs apt-ftparchive on the pool. */
async function ftparchive(
  files: { record: PackageRecord; bytes: Uint8Array }[],
  args: string[] = [],
) {
  const root = await Deno.makeTempDir({ prefix: "repo-aftp-" });
  try {
    for (const { record, bytes } of files) {
      const path = join(root, record.pool_key);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(path, bytes);
    }
    const out = await new Deno.Command("apt-ftparchive", {
      args: [...args, "packages", "pool"],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const withoutSha512 = (stanza: string) =>
  stanza.split("\n").filter((l) => !l.startsWith("SHA512:")).join("\n").trim();

/** apt-ftparchive's stanzas keyed by Filename. */
function byFilename(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const chunk of text.split(/\n\n+/)) {
    const stanza = withoutSha512(chunk);
    if (stanza === "") continue;
    const filename = parseStanzas(stanza)[0]!.Filename!;
    map.set(filename, stanza);
  }
  return map;
}

async function assertSameAsFtparchive(files: { record: PackageRecord; bytes: Uint8Array }[]) {
  const theirs = byFilename(await ftparchive(files));
  assert.equal(theirs.size, files.length);
  for (const { record } of files) {
    const ours = withoutSha512(packagesStanza(record));
    assert.equal(ours, theirs.get(record.pool_key), `stanza of ${record.pool_key}`);
  }
}

const GENERATED: TestDebOptions[] = [
  { name: "kiro", version: "1.0.337", architecture: "amd64", depends: "libgtk-3-0 (>= 3.9.10)" },
  { name: "kiro", version: "2:1.0~rc1+b1-3", architecture: "arm64" },
  {
    name: "kiro-repo",
    version: "1.2",
    architecture: "all",
    extraControl: { "Multi-Arch": "foreign", Essential: "no", "Pre-Depends": "dpkg (>= 1.17)" },
  },
  {
    name: "libkiro1",
    version: "0.1+git20260101.abcdef-1",
    architecture: "amd64",
    description: "library\n Long text.\n .\n Second paragraph.",
    extraControl: {
      "Built-Using": "glibc (= 2.36-9)",
      "X-Custom-Zebra": "z",
      "Package-Type": "deb",
      Source: "kiro (1.0)",
      Provides: "libkiro",
      Breaks: "kiro (<< 1.0)",
      Replaces: "kiro (<< 1.0)",
      Recommends: "kiro",
      Suggests: "kiro-doc",
      Enhances: "kiro",
      Conflicts: "libkiro0",
      "X-Custom-Alpha": "a",
      "Original-Maintainer": "Someone <s@example.invalid>",
    },
  },
  {
    name: "kiro-cli",
    version: "1.0-1",
    architecture: "amd64",
    controlCompression: "none",
    extraControl: { Homepage: "" },
  },
];

Deno.test({
  name: "stanzas equal apt-ftparchive's for generated packages with tricky versions and fields",
  ignore: missingTools(["apt-ftparchive", "dpkg-deb"]),
  async fn() {
    const files = [];
    for (const options of GENERATED) {
      const bytes = await makeTestDeb(options);
      files.push({ record: await recordOf(bytes, `${options.name}.deb`), bytes });
    }
    await assertSameAsFtparchive(files);
  },
});

Deno.test({
  name: "stanzas equal apt-ftparchive's for real Debian packages (epoch, lib*, all, xz control)",
  ignore: debianPackagesMissing || missingTools(["apt-ftparchive"]),
  async fn() {
    const debian = await fetchDebianPackages();
    assert.ok(debian.downloaded.length >= 3);
    const files = [];
    for (const path of debian.downloaded) {
      const bytes = await Deno.readFile(path);
      files.push({ record: await recordOf(bytes, path), bytes });
    }
    assert.ok(files.some((f) => f.record.version.includes(":")), "no epoch version");
    await assertSameAsFtparchive(files);
  },
});

Deno.test({
  name: "each architecture's Packages holds the stanzas apt-ftparchive --arch lists for it",
  ignore: missingTools(["apt-ftparchive", "dpkg-deb"]),
  async fn() {
    const files = [];
    const versions = ["1.9.0", "1.10.0", "1.10.0~rc1", "1:0.9"];
    for (const version of versions) {
      for (const architecture of ["amd64", "arm64", "all"]) {
        const name = architecture === "all" ? "kiro-doc" : "kiro";
        const bytes = await makeTestDeb({ name, version, architecture, payloadSize: 100 });
        files.push({ record: await recordOf(bytes, `${name}_${version}.deb`), bytes });
      }
    }
    const out = await generateIndexes(files.map((f) => f.record), {
      suite: "stable",
      codename: "stable",
      architectures: ["amd64", "arm64"],
      origin: "Kiro",
      label: "Kiro",
      description: "Kiro",
      version: "1",
      date: new Date("2026-01-01T00:00:00Z"),
      validUntil: new Date("2026-01-08T00:00:00Z"),
    });
    for (const arch of ["amd64", "arm64"]) {
      const theirs = [...byFilename(await ftparchive(files, ["--arch", arch])).values()].sort();
      const packages = out.files.find((f) =>
        f.path === `dists/stable/main/binary-${arch}/Packages`
      )!;
      const ours = new TextDecoder().decode(packages.bytes).split(/\n\n+/).map((s) => s.trim())
        .filter((s) => s !== "");
      assert.equal(ours.length, versions.length * 2);
      assert.deepEqual([...ours].sort(), theirs);
      // Ours are in dpkg version order within a package.
      assert.deepEqual(
        parseStanzas(ours.join("\n\n")).filter((s) => s.Package === "kiro").map((s) => s.Version),
        ["1.9.0", "1.10.0~rc1", "1.10.0", "1:0.9"],
      );
    }
  },
});
