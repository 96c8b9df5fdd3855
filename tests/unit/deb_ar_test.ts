import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ArFormatError,
  arHeader,
  type ArMemberHeader,
  readArMembers,
  writeAr,
} from "../../lambda/deb/ar.ts";
import { missingTools } from "../support/tools.ts";

const encoder = new TextEncoder();

interface ReadMember extends ArMemberHeader {
  data: Uint8Array;
}

async function readAll(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  name = "test.a",
): Promise<ReadMember[]> {
  const out: ReadMember[] = [];
  for await (const member of readArMembers(source, { name })) {
    const parts: number[] = [];
    for await (const slice of member.body()) parts.push(...slice);
    const { body: _body, ...header } = member;
    out.push({ ...header, data: Uint8Array.from(parts) });
  }
  return out;
}

/** Splits `bytes` into chunks of the given sizes, cycling. */
function* chunked(bytes: Uint8Array, sizes: number[]): Generator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < bytes.byteLength) {
    const size = Math.max(1, sizes[i++ % sizes.length] as number);
    yield bytes.slice(at, at + size);
    at += size;
  }
}

async function arError(bytes: Uint8Array): Promise<ArFormatError> {
  try {
    await readAll([bytes], "broken.deb");
  } catch (error) {
    assert.ok(error instanceof ArFormatError, String(error));
    assert.ok(error.message.startsWith("broken.deb: "), error.message);
    return error;
  }
  assert.fail("the archive was accepted");
}

Deno.test("arHeader writes dpkg-deb's member header: padded name, uid 0, gid 0, mode 100644", () => {
  const header = new TextDecoder().decode(arHeader("debian-binary", 4, { mtime: 1700000000 }));
  assert.equal(header, "debian-binary   1700000000  0     0     100644  4         `\n");
  assert.equal(header.length, 60);
});

Deno.test("arHeader refuses names and sizes that do not fit", () => {
  assert.throws(() => arHeader("a".repeat(17), 1), RangeError);
  assert.throws(() => arHeader("a/b", 1), RangeError);
  assert.throws(() => arHeader("a b", 1), RangeError);
  assert.throws(() => arHeader("", 1), RangeError);
  assert.throws(() => arHeader("a", -1), RangeError);
  assert.throws(() => arHeader("a", 1e10), RangeError);
});

Deno.test("writeAr pads odd members with a newline and readArMembers reads them back", async () => {
  const archive = writeAr([
    { name: "debian-binary", data: encoder.encode("2.0\n") },
    { name: "odd", data: encoder.encode("abc") },
    { name: "empty", data: new Uint8Array(0) },
    { name: "last", data: encoder.encode("z") },
  ], { mtime: 42 });
  assert.equal(archive.byteLength, 8 + 4 * 60 + 4 + 4 + 0 + 2);
  const members = await readAll([archive]);
  assert.deepEqual(
    members.map((m) => [m.name, new TextDecoder().decode(m.data), m.mtime, m.mode]),
    [
      ["debian-binary", "2.0\n", 42, 0o100644],
      ["odd", "abc", 42, 0o100644],
      ["empty", "", 42, 0o100644],
      ["last", "z", 42, 0o100644],
    ],
  );
  assert.deepEqual(members.map((m) => m.offset), [8, 8 + 64, 8 + 64 + 64, 8 + 64 + 64 + 60]);
});

Deno.test("readArMembers gives the same members whatever the chunk boundaries", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          name: fc.stringMatching(/^[a-z_][a-z0-9._-]{0,15}$/),
          data: fc.uint8Array({ maxLength: 300 }),
        }),
        { maxLength: 6 },
      ).map((members) =>
        members.filter((m, i) => members.findIndex((n) => n.name === m.name) === i)
      ),
      fc.array(fc.integer({ min: 1, max: 130 }), { minLength: 1, maxLength: 8 }),
      async (members, sizes) => {
        const archive = writeAr(members, { mtime: 7 });
        const read = await readAll(chunked(archive, sizes));
        assert.deepEqual(
          read.map((m) => [m.name, [...m.data]]),
          members.map((m) => [m.name, [...m.data]]),
        );
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("readArMembers skips the bodies its caller does not read", async () => {
  const archive = writeAr([
    { name: "a", data: encoder.encode("xxxxx") },
    { name: "b", data: encoder.encode("yy") },
  ]);
  const names: string[] = [];
  for await (const member of readArMembers(chunked(archive, [3]), { name: "t" })) {
    names.push(member.name);
  }
  assert.deepEqual(names, ["a", "b"]);
});

Deno.test("readArMembers reads GNU names ending in / and BSD #1/ names", async () => {
  const gnu = "!<arch>\n" + "control.tar.gz/ 0           0     0     100644  2         `\n" + "hi";
  assert.deepEqual((await readAll([encoder.encode(gnu)])).map((m) => m.name), ["control.tar.gz"]);
  const bsd = "!<arch>\n" + "#1/22           0           0     0     100644  23        `\n" +
    "a-rather-long-name.x\0\0" + "Z" + "\n";
  const members = await readAll([encoder.encode(bsd)]);
  assert.deepEqual(members.map((m) => [m.name, m.size, new TextDecoder().decode(m.data)]), [
    ["a-rather-long-name.x", 1, "Z"],
  ]);
});

Deno.test("readArMembers tolerates a missing final padding byte", async () => {
  const archive = writeAr([{ name: "a", data: encoder.encode("abc") }]);
  const members = await readAll([archive.subarray(0, archive.byteLength - 1)]);
  assert.equal(new TextDecoder().decode(members[0]?.data), "abc");
});

Deno.test("readArMembers rejects a file that is not an ar archive", async () => {
  const error = await arError(encoder.encode("PK\x03\x04 this is a zip"));
  assert.equal(error.problem, "not-ar");
  assert.match(error.message, /not an ar archive/);
  assert.equal((await arError(new Uint8Array(0))).problem, "not-ar");
  assert.equal((await arError(encoder.encode("!<thin>\n"))).problem, "not-ar");
});

Deno.test("readArMembers rejects a member whose size runs past the end of the file", async () => {
  const archive = writeAr([{ name: "data.tar.xz", data: new Uint8Array(1000) }]);
  const error = await arError(archive.subarray(0, 500));
  assert.equal(error.problem, "truncated");
  assert.match(error.message, /ar member data\.tar\.xz at offset 8 declares 1000 bytes/);
});

Deno.test("readArMembers rejects a file cut inside a member header", async () => {
  const archive = writeAr([{ name: "a", data: encoder.encode("ab") }, {
    name: "b",
    data: encoder.encode("cd"),
  }]);
  const error = await arError(archive.subarray(0, 8 + 62 + 30));
  assert.equal(error.problem, "truncated");
  assert.match(error.message, /ends inside the ar member header at offset 70/);
});

Deno.test("readArMembers rejects corrupt member headers", async () => {
  const good = writeAr([{ name: "a", data: encoder.encode("ab") }]);
  const badMagic = good.slice();
  badMagic[8 + 58] = 0x41;
  assert.equal((await arError(badMagic)).problem, "bad-header");
  const badSize = good.slice();
  badSize.set(encoder.encode("12x4"), 8 + 48);
  const error = await arError(badSize);
  assert.equal(error.problem, "bad-header");
  assert.match(error.message, /invalid size "12x4"/);
});

Deno.test({
  name: "GNU ar lists and extracts what writeAr writes",
  ignore: missingTools(["ar"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "deb-ar-" });
    try {
      const archive = writeAr([
        { name: "debian-binary", data: encoder.encode("2.0\n") },
        { name: "control.tar.zst", data: encoder.encode("odd") },
      ], { mtime: 1700000000 });
      await Deno.writeFile(`${dir}/x.a`, archive);
      const list = await new Deno.Command("ar", { args: ["tv", `${dir}/x.a`], stdout: "piped" })
        .output();
      assert.ok(list.success);
      const lines = new TextDecoder().decode(list.stdout).trim().split("\n");
      assert.deepEqual(lines.map((line) => line.split(/\s+/).at(-1)), [
        "debian-binary",
        "control.tar.zst",
      ]);
      for (const line of lines) assert.match(line, /^rw-r--r-- 0\/0 /);
      const print = await new Deno.Command("ar", {
        args: ["p", `${dir}/x.a`, "control.tar.zst"],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(print.stdout), "odd");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
