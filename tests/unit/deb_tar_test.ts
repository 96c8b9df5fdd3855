import assert from "node:assert/strict";
import fc from "fast-check";
import {
  normalizeTarPath,
  readTar,
  TarFormatError,
  type TarWriteEntry,
  writeTar,
} from "../../lambda/deb/tar.ts";
import { missingTools } from "../support/tools.ts";

const encoder = new TextEncoder();

Deno.test("writeTar writes GNU headers owned by root that readTar reads back", async () => {
  const tar = writeTar([
    { path: "./", type: "directory", mode: 0o755 },
    { path: "./usr/bin", type: "directory", mode: 0o755 },
    { path: "./usr/bin/kiro", type: "file", mode: 0o755, data: encoder.encode("#!/bin/sh\n") },
    { path: "./usr/bin/k", type: "symlink", mode: 0o777, linkTarget: "kiro" },
  ], { mtime: 1700000000 });
  assert.equal(tar.byteLength % 512, 0);
  assert.equal(new TextDecoder().decode(tar.subarray(257, 265)), "ustar  \0");
  const entries = await readTar(tar, { name: "t.tar" });
  assert.deepEqual(
    entries.map((
      e,
    ) => [e.name, e.type, e.mode, e.size, e.uid, e.gid, e.uname, e.gname, e.mtime, e.linkname]),
    [
      ["./", "directory", 0o755, 0, 0, 0, "root", "root", 1700000000, ""],
      ["./usr/bin/", "directory", 0o755, 0, 0, 0, "root", "root", 1700000000, ""],
      ["./usr/bin/kiro", "file", 0o755, 10, 0, 0, "root", "root", 1700000000, ""],
      ["./usr/bin/k", "symlink", 0o777, 0, 0, 0, "root", "root", 1700000000, "kiro"],
    ],
  );
  assert.equal(new TextDecoder().decode(entries[2]?.data), "#!/bin/sh\n");
});

const segment = fc.stringMatching(/^[a-zA-Z0-9._+-]{1,40}$/).filter((s) => s !== "." && s !== "..");
const entry: fc.Arbitrary<TarWriteEntry> = fc.oneof(
  fc.record({
    path: fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => `./${parts.join("/")}`),
    type: fc.constant("file" as const),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    data: fc.uint8Array({ maxLength: 1500 }),
  }),
  fc.record({
    path: fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => `./${parts.join("/")}/`),
    type: fc.constant("directory" as const),
    mode: fc.integer({ min: 0, max: 0o7777 }),
  }),
  fc.record({
    path: fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => `./${parts.join("/")}`),
    type: fc.constant("symlink" as const),
    mode: fc.constant(0o777),
    linkTarget: fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join("/")),
  }),
);

Deno.test("readTar reads back every entry writeTar writes, long names included", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(entry, { maxLength: 8 }),
      fc.oneof(fc.nat({ max: 2 ** 33 - 1 }), fc.integer({ min: 2 ** 33, max: 2 ** 40 })),
      async (entries, mtime) => {
        const tar = writeTar(entries, { mtime });
        assert.deepEqual(writeTar(entries, { mtime }), tar, "writeTar is deterministic");
        const read = await readTar(tar, { name: "p.tar" });
        assert.deepEqual(
          read.map((e) => [e.name, e.type, e.mode, [...e.data], e.linkname, e.mtime]),
          entries.map((
            e,
          ) => [e.path, e.type, e.mode, [...(e.data ?? [])], e.linkTarget ?? "", mtime]),
        );
      },
    ),
    { numRuns: 120 },
  );
});

Deno.test("readTar rejects a truncated archive", async () => {
  const tar = writeTar([{
    path: "./control",
    type: "file",
    mode: 0o644,
    data: new Uint8Array(2000),
  }], {
    mtime: 0,
  });
  await assert.rejects(
    readTar(tar.subarray(0, 1000), { name: "x.deb: control.tar" }),
    TarFormatError,
  );
});

Deno.test("normalizeTarPath maps ./control, /control and control to control", () => {
  for (const name of ["./control", "control", "/control", ".//control"]) {
    assert.equal(normalizeTarPath(name), "control");
  }
  assert.equal(normalizeTarPath("./usr/bin/"), "usr/bin");
});

Deno.test("writeTar refuses entries it cannot write", () => {
  assert.throws(() =>
    writeTar([{ path: "", type: "file", mode: 0, data: new Uint8Array() }], { mtime: 0 })
  );
  assert.throws(() => writeTar([{ path: "./a", type: "file", mode: 0 }], { mtime: 0 }));
  assert.throws(() => writeTar([{ path: "./a", type: "symlink", mode: 0 }], { mtime: 0 }));
  assert.throws(() => writeTar([], { mtime: -1 }));
});

Deno.test({
  name: "GNU tar lists and extracts what writeTar writes, long names and base-256 mtime included",
  ignore: missingTools(["tar"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "deb-tar-" });
    try {
      const long = `./usr/share/${"d".repeat(80)}/${"f".repeat(90)}.txt`;
      const tar = writeTar([
        { path: "./", type: "directory", mode: 0o755 },
        { path: long, type: "file", mode: 0o640, data: encoder.encode("long\n") },
        { path: "./link", type: "symlink", mode: 0o777, linkTarget: `/${"t".repeat(150)}` },
      ], { mtime: 1700000000 });
      await Deno.writeFile(`${dir}/x.tar`, tar);
      const list = await new Deno.Command("tar", {
        args: ["--numeric-owner", "--full-time", "-tvf", `${dir}/x.tar`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(list.success, new TextDecoder().decode(list.stderr));
      const lines = new TextDecoder().decode(list.stdout).trim().split("\n");
      assert.equal(lines.length, 3);
      assert.match(lines[0] as string, /^drwxr-xr-x 0\/0 +0 2023-11-14 22:13:20 \.\/$/);
      assert.match(
        lines[1] as string,
        new RegExp(`^-rw-r----- 0/0 +5 2023-11-14 22:13:20 ${long.replaceAll(".", "\\.")}$`),
      );
      assert.match(lines[2] as string, new RegExp(`^lrwxrwxrwx 0/0 +0 .* \\./link -> /t{150}$`));
      const out = await new Deno.Command("tar", {
        args: ["-xOf", `${dir}/x.tar`, long],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(out.stdout), "long\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
