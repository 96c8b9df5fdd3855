import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { generateIndexes, IndexError, type IndexOptions } from "../../lambda/repo/indexes.ts";
import { gzip, XZ_DICTIONARY_CAP, xzCompress } from "../../lambda/repo/compress.ts";
import { parseStanzas } from "../../lambda/repo/stanza.ts";
import { missingTools } from "../support/tools.ts";

const options: IndexOptions = {
  suite: "stable",
  codename: "stable",
  architectures: ["amd64", "arm64"],
  origin: "Kiro",
  label: "Kiro",
  description: "Kiro packages",
  version: "1.0",
  date: new Date("2026-11-22T14:00:00Z"),
  validUntil: new Date("2026-11-29T14:00:00Z"),
};

function record(name: string, version: string, architecture: string, salt = ""): PackageRecord {
  const digest = (alg: string) =>
    createHash(alg).update(`${name}|${version}|${architecture}|${salt}`).digest("hex");
  return {
    package_id: `${name}#${version}`,
    package_name: name,
    version,
    architecture,
    package_type: "upload",
    pub_date: "",
    processed_timestamp: "",
    deb_url: "",
    actual_filename: "",
    pool_key: `pool/main/${name[0]}/${name}/${name}_${version}_${architecture}.deb`,
    file_size: 1000,
    md5_hash: digest("md5"),
    sha1_hash: digest("sha1"),
    sha256_hash: digest("sha256"),
    section: "utils",
    priority: "optional",
    maintainer: "M <m@example.invalid>",
    homepage: "https://example.invalid",
    description: `${name} synopsis`,
    control: { Package: name, Version: version, Architecture: architecture },
  };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
function packagesOf(files: { path: string; bytes: Uint8Array }[], arch: string) {
  const file = files.find((f) => f.path === `dists/stable/main/binary-${arch}/Packages`);
  assert.ok(file, `no Packages for ${arch}`);
  return parseStanzas(text(file.bytes));
}

Deno.test("Architecture: all packages are listed in every architecture's Packages", async () => {
  const out = await generateIndexes([
    record("kiro", "1.0", "amd64"),
    record("kiro-doc", "1.0", "all"),
    record("kiro", "1.0", "arm64"),
  ], options);
  assert.deepEqual(packagesOf(out.files, "amd64").map((s) => `${s.Package}/${s.Architecture}`), [
    "kiro/amd64",
    "kiro-doc/all",
  ]);
  assert.deepEqual(packagesOf(out.files, "arm64").map((s) => `${s.Package}/${s.Architecture}`), [
    "kiro/arm64",
    "kiro-doc/all",
  ]);
  assert.deepEqual(out.counts, { amd64: 2, arm64: 2 });
});

Deno.test("every version is listed, in dpkg order, not string order", async () => {
  const versions = ["1.10.0", "1.9.0", "1:0.1", "1.10.0~rc1", "1.2"];
  const out = await generateIndexes(versions.map((v) => record("kiro", v, "amd64")), options);
  assert.deepEqual(packagesOf(out.files, "amd64").map((s) => s.Version), [
    "1.2",
    "1.9.0",
    "1.10.0~rc1",
    "1.10.0",
    "1:0.1",
  ]);
});

Deno.test("records of an architecture that is not published are skipped and reported", async () => {
  const stray = record("kiro", "1.0", "riscv64");
  const out = await generateIndexes([record("kiro", "1.0", "amd64"), stray], options);
  assert.equal(out.skipped.length, 1);
  assert.equal(out.skipped[0]!.record, stray);
  assert.match(out.skipped[0]!.reason, /riscv64/);
  assert.equal(packagesOf(out.files, "amd64").length, 1);
  await assert.rejects(
    generateIndexes([stray], { ...options, strict: true }),
    (e: unknown) => e instanceof IndexError && /kiro 1\.0: architecture "riscv64"/.test(e.message),
  );
});

Deno.test("the same version twice is listed once when it is the same file, refused when not", async () => {
  const a = record("kiro", "1.0", "amd64");
  const out = await generateIndexes([a, { ...a }], options);
  assert.equal(packagesOf(out.files, "amd64").length, 1);
  await assert.rejects(
    generateIndexes([a, record("kiro", "1.0-0", "amd64", "other bytes")], options),
    (e: unknown) =>
      e instanceof IndexError && /same version to apt but different files/.test(e.message),
  );
});

Deno.test("an architecture with no packages still gets (empty) indexes listed in Release", async () => {
  const out = await generateIndexes([record("kiro", "1.0", "amd64")], options);
  const arm = out.files.find((f) => f.path === "dists/stable/main/binary-arm64/Packages");
  assert.equal(arm?.bytes.length, 0);
  assert.match(out.release, / 0 main\/binary-arm64\/Packages\n/);
  assert.equal(out.counts.arm64, 0);
});

Deno.test("invalid options are refused before any work", async () => {
  for (
    const bad of [
      { ...options, architectures: ["amd64", "all"] },
      { ...options, architectures: [] },
      { ...options, suite: "Stable Suite" },
      { ...options, components: ["ma in"] },
    ]
  ) {
    await assert.rejects(generateIndexes([], bad), IndexError);
  }
});

Deno.test("Packages.gz decompresses to Packages", async () => {
  const out = await generateIndexes(
    [record("kiro", "1.0", "amd64"), record("kiro", "2.0", "amd64")],
    options,
  );
  const plain = out.files.find((f) => f.path.endsWith("binary-amd64/Packages"))!;
  const gz = out.files.find((f) => f.path.endsWith("binary-amd64/Packages.gz"))!;
  assert.deepEqual(new Uint8Array(gunzipSync(gz.bytes)), plain.bytes);
});

Deno.test({
  name: "Packages.xz passes xz --test and decompresses to Packages with the xz tool",
  ignore: missingTools(["xz"]),
  async fn() {
    const out = await generateIndexes(
      Array.from({ length: 50 }, (_, i) => record("kiro", `1.${i}`, i % 2 ? "amd64" : "all")),
      options,
    );
    for (const arch of ["amd64", "arm64"]) {
      const plain = out.files.find((f) => f.path.endsWith(`binary-${arch}/Packages`))!;
      const xz = out.files.find((f) => f.path.endsWith(`binary-${arch}/Packages.xz`))!;
      const run = async (args: string[]) => {
        const child = new Deno.Command("xz", { args, stdin: "piped", stdout: "piped" }).spawn();
        const w = child.stdin.getWriter();
        await w.write(xz.bytes);
        await w.close();
        return await child.output();
      };
      assert.equal((await run(["--test", "-"])).code, 0);
      const decoded = await run(["-dc", "-"]);
      assert.equal(decoded.code, 0);
      assert.deepEqual(decoded.stdout, plain.bytes);
      const file = await Deno.makeTempFile({ suffix: ".xz" });
      try {
        await Deno.writeFile(file, xz.bytes);
        const info = await new Deno.Command("xz", { args: ["--robot", "--list", file] }).output();
        assert.equal(info.code, 0);
        assert.match(text(info.stdout), /\tCRC32\t/);
      } finally {
        await Deno.remove(file);
      }
    }
  },
});

Deno.test({
  name:
    "xzCompress writes streams the xz tool accepts, for empty, small and large inputs at any preset",
  ignore: missingTools(["xz"]),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const line = "Package: kiro\nVersion: 1.0\nDescription: words words words\n\n";
      const inputs = [
        "",
        "a",
        line,
        line.repeat(2000) + "x".repeat(70_001),
      ].map((t) => new TextEncoder().encode(t));
      for (const [i, input] of inputs.entries()) {
        for (const preset of [0, 4, 6]) {
          const file = `${dir}/${i}-${preset}.xz`;
          await Deno.writeFile(file, await xzCompress(input, { preset }));
          const out = await new Deno.Command("xz", { args: ["-dc", file] }).output();
          assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
          assert.deepEqual(out.stdout, input);
        }
      }
      await assert.rejects(xzCompress(inputs[1]!, { preset: 10 }), RangeError);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("gzip and xz output depend only on the input (memoized or not)", async () => {
  const a = new TextEncoder().encode("Package: kiro\n".repeat(100));
  const b = new TextEncoder().encode("Package: kiro\n".repeat(100));
  assert.deepEqual(await gzip(a), await gzip(b));
  assert.deepEqual(await xzCompress(a), await xzCompress(b));
  assert.notDeepEqual(await xzCompress(a), await xzCompress(a.subarray(1)));
});

Deno.test("compression chooses the variants written and listed", async () => {
  const out = await generateIndexes([record("kiro", "1.0", "amd64")], {
    ...options,
    compression: ["gzip"],
  });
  assert.deepEqual(
    out.files.filter((f) => f.kind === "index").map((f) => f.canonicalName),
    [
      "main/binary-amd64/Packages",
      "main/binary-amd64/Packages.gz",
      "main/binary-arm64/Packages",
      "main/binary-arm64/Packages.gz",
    ],
  );
  assert.doesNotMatch(out.release, /Packages\.xz/);
  assert.equal(out.timings.xz, 0);
});

Deno.test("gzip writes no file name and mtime 0 and decompresses to its input at every level", async () => {
  const input = new TextEncoder().encode("Package: kiro\nVersion: 1.0\n\n".repeat(500));
  for (let level = 0; level <= 9; level++) {
    const gz = await gzip(input, { level });
    assert.deepEqual([...gz.subarray(0, 4)], [0x1f, 0x8b, 0x08, 0x00], `level ${level}: FLG 0`);
    assert.deepEqual([...gz.subarray(4, 8)], [0, 0, 0, 0], `level ${level}: MTIME 0`);
    assert.deepEqual(new Uint8Array(gunzipSync(gz)), input);
    assert.equal(Object.getPrototypeOf(gz), Uint8Array.prototype);
  }
  await assert.rejects(gzip(input, { level: 10 }), RangeError);
  await assert.rejects(gzip(input, { level: 1.5 }), RangeError);
});

Deno.test({
  name: "xz dictionaries are capped at XZ_DICTIONARY_CAP unless asked otherwise, and xz reads both",
  ignore: missingTools(["xz"]),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // 600 KB of varied stanzas: larger than the default cap, smaller than 1 MiB.
      const text = Array.from(
        { length: 6000 },
        (_, i) => `Package: p${i % 977}\nVersion: ${i}.${i % 13}\nSize: ${i * 7919}\n\n`,
      ).join("").padEnd(600_000, "x");
      const input = new TextEncoder().encode(text);
      // The block header's dictionary byte: size = 2 ** (12 + byte / 2).
      const dictionary = (xz: Uint8Array) => 2 ** (12 + xz[16]! / 2);
      const capped = await xzCompress(input);
      const wide = await xzCompress(input, { dictionaryCap: 2 ** 20 });
      assert.equal(XZ_DICTIONARY_CAP, 256 * 1024);
      assert.equal(dictionary(capped), XZ_DICTIONARY_CAP);
      assert.equal(dictionary(wide), 2 ** 20);
      assert.equal(dictionary(await xzCompress(input.subarray(0, 5000))), 8192);
      for (const [name, xz] of [["capped", capped], ["wide", wide]] as const) {
        await Deno.writeFile(`${dir}/${name}.xz`, xz);
        const out = await new Deno.Command("xz", { args: ["-dc", `${dir}/${name}.xz`] }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        assert.deepEqual(out.stdout, input);
      }
      await assert.rejects(xzCompress(input, { dictionaryCap: 3000 }), RangeError);
      await assert.rejects(xzCompress(input, { dictionaryCap: 300_000 }), RangeError);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a Packages of a megabyte or more is gzipped while written, to the bytes gzip() gives it", async () => {
  const records = Array.from({ length: 4000 }, (_, i) => record(`kiro-${i}`, "1.0", "amd64"));
  const out = await generateIndexes(records, { ...options, compression: ["gzip"] });
  const plain = out.files.find((f) => f.path === "dists/stable/main/binary-amd64/Packages")!;
  const gz = out.files.find((f) => f.path === "dists/stable/main/binary-amd64/Packages.gz")!;
  assert.ok(plain.bytes.length >= 1024 * 1024, `${plain.bytes.length} bytes`);
  assert.deepEqual(new Uint8Array(gunzipSync(gz.bytes)), plain.bytes);
  assert.deepEqual(gz.bytes, await gzip(plain.bytes, { sha256: "not-memoized" }));
});

Deno.test("a record that cannot make a stanza stops the indexes after the compression has started", async () => {
  const records = Array.from({ length: 4000 }, (_, i) => record(`kiro-${i}`, "1.0", "amd64"));
  records.push({ ...record("zz-bad", "1.0", "amd64"), md5_hash: "not hex" });
  await assert.rejects(
    generateIndexes(records, { ...options, compression: ["gzip"] }),
    /md5_hash "not hex" is not a lowercase hex digest/,
  );
});
