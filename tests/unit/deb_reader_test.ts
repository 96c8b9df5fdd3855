import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeAr } from "../../lambda/deb/ar.ts";
import {
  DebFormatError,
  type DebProblem,
  readDeb,
  readDebBytes,
  readDebHead,
} from "../../lambda/deb/deb_reader.ts";
import { gzip } from "../../tasks/lib/deb_writer.ts";
import { writeTar } from "../../lambda/deb/tar.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { missingTools } from "../support/tools.ts";

const encoder = new TextEncoder();
const NAME = "kiro_1.0_amd64.deb";
const CONTROL = "Package: kiro\nVersion: 1.0\nArchitecture: amd64\nMaintainer: K <k@kiro.dev>\n" +
  "Description: the IDE\n Long text.\n";

function controlTar(files: Record<string, string>, prefix = "./"): Uint8Array {
  return writeTar(
    Object.entries(files).map(([name, text]) => ({
      path: `${prefix}${name}`,
      type: "file" as const,
      mode: 0o644,
      data: encoder.encode(text),
    })),
    { mtime: 0 },
  );
}

const DATA = gzip(writeTar([{ path: "./", type: "directory", mode: 0o755 }], { mtime: 0 }));

function deb(
  members: { name: string; data: Uint8Array }[] = [
    { name: "debian-binary", data: encoder.encode("2.0\n") },
    { name: "control.tar.gz", data: gzip(controlTar({ control: CONTROL })) },
    { name: "data.tar.gz", data: DATA },
  ],
): Uint8Array {
  return writeAr(members, { mtime: 0 });
}

async function debError(bytes: Uint8Array, problem: DebProblem, pattern: RegExp): Promise<void> {
  try {
    await readDebBytes(bytes, { name: NAME });
  } catch (error) {
    assert.ok(error instanceof DebFormatError, `expected DebFormatError, got ${error}`);
    assert.equal(error.problem, problem, error.message);
    assert.equal(error.file, NAME);
    assert.ok(error.message.startsWith(`${NAME}: `), error.message);
    assert.match(error.message, pattern);
    return;
  }
  assert.fail(`readDeb accepted a file that should fail with ${problem}`);
}

function digests(bytes: Uint8Array) {
  return {
    size: bytes.byteLength,
    md5: createHash("md5").update(bytes).digest("hex"),
    sha1: createHash("sha1").update(bytes).digest("hex"),
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

Deno.test("readDeb returns the control paragraph and the digests of the whole file", async () => {
  const bytes = deb();
  const info = await readDebBytes(bytes, { name: NAME });
  assert.deepEqual(info, {
    control: {
      Package: "kiro",
      Version: "1.0",
      Architecture: "amd64",
      Maintainer: "K <k@kiro.dev>",
      Description: "the IDE\n Long text.",
    },
    controlBytes: new TextEncoder().encode(CONTROL).byteLength,
    ...digests(bytes),
    controlCompression: "gzip",
    dataMember: "data.tar.gz",
    dataHead: {
      bytes: writeTar([{ path: "./", type: "directory", mode: 0o755 }], { mtime: 0 }).slice(0, 512),
    },
  });
});

Deno.test("readDebHead reads up to the data member's first block and no further", async () => {
  const bytes = await makeTestDeb({
    name: "kiro",
    version: "1.0",
    architecture: "amd64",
    payloadSize: 200_000,
  });
  let served = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (served >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.subarray(served, served + 1024));
      served += 1024;
    },
  });
  const head = await readDebHead(stream, { name: NAME });
  assert.equal(head.control.Package, "kiro");
  assert.ok("bytes" in head.dataHead && head.dataHead.bytes.byteLength === 512);
  assert.ok(served < bytes.byteLength / 2, `read ${served} of ${bytes.byteLength} bytes`);
});

Deno.test("readDeb computes SHA512 too when asked", async () => {
  const bytes = deb();
  const info = await readDebBytes(bytes, { name: NAME, sha512: true });
  assert.equal(info.sha512, createHash("sha512").update(bytes).digest("hex"));
  assert.equal((await readDebBytes(bytes, { name: NAME })).sha512, undefined);
});

Deno.test("readDeb reads a web ReadableStream in small chunks", async () => {
  const bytes = await makeTestDeb({
    name: "kiro",
    version: "2:1.0~b1+x",
    architecture: "arm64",
    payloadSize: 5000,
  });
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + 37));
      at += 37;
    },
  });
  const info = await readDeb(stream, { name: NAME });
  assert.equal(info.control.Version, "2:1.0~b1+x");
  assert.deepEqual(
    { size: info.size, md5: info.md5, sha1: info.sha1, sha256: info.sha256 },
    digests(bytes),
  );
});

Deno.test("readDeb stops reading and cancels the stream as soon as the file is known bad", async () => {
  let pulls = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(
        new TextEncoder().encode(pulls === 1 ? "<html>not found</html>" : "x".repeat(1000)),
      );
    },
    cancel() {
      cancelled = true;
    },
  });
  await assert.rejects(readDeb(stream, { name: NAME }), DebFormatError);
  assert.ok(cancelled, "the source stream was cancelled");
  assert.ok(pulls <= 3, `read ${pulls} chunks of an endless stream`);
});

Deno.test("readDeb passes on the error of a failing stream unchanged", async () => {
  const bytes = deb();
  const failure = new Error("connection reset");
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, 100));
      controller.error(failure);
    },
  });
  await assert.rejects(readDeb(stream, { name: NAME }), (error: unknown) => error === failure);
});

Deno.test("readDeb finds control without ./ and skips _ members and trailing members", async () => {
  const bytes = deb([
    { name: "debian-binary", data: encoder.encode("2.0\n") },
    { name: "_gpgbuilder", data: encoder.encode("sig") },
    { name: "control.tar", data: controlTar({ md5sums: "", control: CONTROL }, "") },
    { name: "data.tar.bz2", data: encoder.encode("not really bzip2: only hashed") },
    { name: "_gpgorigin", data: encoder.encode("trailing signature") },
  ]);
  const info = await readDebBytes(bytes, { name: NAME });
  assert.equal(info.control.Package, "kiro");
  assert.equal(info.controlCompression, "none");
  assert.equal(info.dataMember, "data.tar.bz2");
  assert.equal(info.sha256, digests(bytes).sha256);
});

Deno.test("readDeb accepts debian-binary 2.x", async () => {
  const bytes = deb([
    { name: "debian-binary", data: encoder.encode("2.1\nextra\n") },
    { name: "control.tar.gz", data: gzip(controlTar({ control: CONTROL })) },
    { name: "data.tar.gz", data: DATA },
  ]);
  assert.equal((await readDebBytes(bytes, { name: NAME })).control.Package, "kiro");
});

Deno.test("readDeb rejects a file that is not an ar archive", async () => {
  await debError(encoder.encode("\x1f\x8b\x08 gzip, not a deb"), "not-ar", /not an ar archive/);
});

Deno.test("readDeb rejects an archive without debian-binary first", async () => {
  await debError(
    deb([{ name: "control.tar.gz", data: gzip(controlTar({ control: CONTROL })) }, {
      name: "data.tar.gz",
      data: DATA,
    }]),
    "missing-debian-binary",
    /first ar member is "control\.tar\.gz", not "debian-binary"/,
  );
  await debError(deb([]), "missing-debian-binary", /empty ar archive/);
});

Deno.test("readDeb rejects an unsupported format version", async () => {
  await debError(
    deb([{ name: "debian-binary", data: encoder.encode("3.0\n") }]),
    "unsupported-version",
    /unsupported \.deb format version "3\.0"/,
  );
});

Deno.test("readDeb rejects a file without control member", async () => {
  await debError(
    deb([{ name: "debian-binary", data: encoder.encode("2.0\n") }, {
      name: "data.tar.gz",
      data: DATA,
    }]),
    "missing-control",
    /data member data\.tar\.gz comes before any control\.tar member/,
  );
  await debError(
    deb([{ name: "debian-binary", data: encoder.encode("2.0\n") }]),
    "missing-control",
    /no control\.tar member/,
  );
  await debError(
    deb([
      { name: "debian-binary", data: encoder.encode("2.0\n") },
      { name: "control.tar.gz", data: gzip(controlTar({ md5sums: "" })) },
      { name: "data.tar.gz", data: DATA },
    ]),
    "missing-control",
    /control\.tar\.gz has no \.\/control file \(it holds \.\/md5sums\)/,
  );
});

Deno.test("readDeb rejects a file without data member", async () => {
  await debError(
    deb([
      { name: "debian-binary", data: encoder.encode("2.0\n") },
      { name: "control.tar.gz", data: gzip(controlTar({ control: CONTROL })) },
    ]),
    "missing-data",
    /no data\.tar member/,
  );
});

Deno.test("readDeb rejects unknown compressions", async () => {
  await debError(
    deb([
      { name: "debian-binary", data: encoder.encode("2.0\n") },
      { name: "control.tar.bz2", data: encoder.encode("BZh9") },
      { name: "data.tar.gz", data: DATA },
    ]),
    "unknown-compression",
    /control\.tar\.bz2 uses an unknown compression/,
  );
  await debError(
    deb([
      { name: "debian-binary", data: encoder.encode("2.0\n") },
      { name: "control.tar.gz", data: gzip(controlTar({ control: CONTROL })) },
      { name: "data.tar.lz4", data: encoder.encode("x") },
    ]),
    "unknown-compression",
    /data\.tar\.lz4 uses an unknown compression/,
  );
});

Deno.test("readDeb rejects an unexpected member before the data member", async () => {
  await debError(
    deb([
      { name: "debian-binary", data: encoder.encode("2.0\n") },
      { name: "control.tar.gz", data: gzip(controlTar({ control: CONTROL })) },
      { name: "extra", data: encoder.encode("x") },
      { name: "data.tar.gz", data: DATA },
    ]),
    "unexpected-member",
    /unexpected ar member "extra"/,
  );
});

Deno.test("readDeb rejects bad control syntax, naming the line", async () => {
  await debError(
    deb([
      { name: "debian-binary", data: encoder.encode("2.0\n") },
      { name: "control.tar.gz", data: gzip(controlTar({ control: `${CONTROL}# comment\n` })) },
      { name: "data.tar.gz", data: DATA },
    ]),
    "bad-control",
    /control\.tar\.gz \.\/control: line 7: comment lines are not allowed/,
  );
});

Deno.test("readDeb rejects a control file without Package, Version or Architecture", async () => {
  await debError(
    deb([
      { name: "debian-binary", data: encoder.encode("2.0\n") },
      { name: "control.tar.gz", data: gzip(controlTar({ control: "Package: kiro\nVersion:\n" })) },
      { name: "data.tar.gz", data: DATA },
    ]),
    "missing-field",
    /the control file has no Version, Architecture fields/,
  );
});

Deno.test("readDeb rejects a truncated file", async () => {
  const bytes = await makeTestDeb({
    name: "kiro",
    version: "1.0",
    architecture: "amd64",
    payloadSize: 4000,
  });
  await debError(
    bytes.subarray(0, bytes.byteLength - 100),
    "truncated",
    /truncated: ar member data\.tar\.gz/,
  );
  await debError(
    bytes.subarray(0, 8 + 60 + 4 + 30),
    "truncated",
    /ends inside the ar member header/,
  );
});

Deno.test("readDeb rejects a corrupt control member", async () => {
  const control = gzip(controlTar({ control: CONTROL }));
  await debError(
    deb([
      { name: "debian-binary", data: encoder.encode("2.0\n") },
      { name: "control.tar.gz", data: control.subarray(0, control.byteLength - 10) },
      { name: "data.tar.gz", data: DATA },
    ]),
    "corrupt",
    /control\.tar\.gz: cannot decompress the gzip data/,
  );
  await debError(
    deb([
      { name: "debian-binary", data: encoder.encode("2.0\n") },
      { name: "control.tar.xz", data: encoder.encode("definitely not xz") },
      { name: "data.tar.gz", data: DATA },
    ]),
    "corrupt",
    /control\.tar\.xz: cannot decompress the xz data/,
  );
});

Deno.test("readDeb refuses a control member larger than maxControlBytes", async () => {
  const bytes = deb([
    { name: "debian-binary", data: encoder.encode("2.0\n") },
    { name: "control.tar", data: controlTar({ control: CONTROL, big: "x".repeat(100_000) }) },
    { name: "data.tar.gz", data: DATA },
  ]);
  await assert.rejects(
    readDebBytes(bytes, { name: NAME, maxControlBytes: 50_000 }),
    (error: unknown) =>
      error instanceof DebFormatError && /more than the 50000 bytes/.test(error.message),
  );
});

for (const compression of ["gzip", "xz", "zstd", "none"] as const) {
  Deno.test({
    name: `readDeb reads a control member compressed with ${compression}`,
    ignore: compression === "xz" || compression === "zstd" ? missingTools([compression]) : false,
    async fn() {
      const bytes = await makeTestDeb({
        name: "libkiro1",
        version: "1:2.0~rc1-1+b1",
        architecture: "all",
        depends: "libc6 (>= 2.34) | libc6.1",
        controlCompression: compression,
      });
      const info = await readDebBytes(bytes, { name: NAME });
      assert.equal(info.controlCompression, compression);
      assert.equal(info.control.Package, "libkiro1");
      assert.equal(info.control.Version, "1:2.0~rc1-1+b1");
      assert.equal(info.control.Depends, "libc6 (>= 2.34) | libc6.1");
      assert.equal(info.sha256, digests(bytes).sha256);
    },
  });
}
