import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { readArMembers } from "../../lambda/deb/ar.ts";
import { readDebBytes } from "../../lambda/deb/deb_reader.ts";
import {
  buildDeb,
  type BuildDebOptions,
  DebBuildError,
  type DebFile,
  installedSize,
} from "../../tasks/lib/deb_writer.ts";
import { decompress } from "../../lambda/deb/decompress.ts";
import { readTar, type TarEntry } from "../../lambda/deb/tar.ts";

const CONTROL = {
  Package: "kiro-repo",
  Version: "1.0",
  Architecture: "all",
  Maintainer: "Kiro Team <team@kiro.dev>",
  Description: "Kiro repository\n Adds the Kiro APT repository.",
};

async function members(deb: Uint8Array): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const member of readArMembers([deb], { name: "t.deb" })) {
    const parts: number[] = [];
    for await (const slice of member.body()) parts.push(...slice);
    out.set(member.name, Uint8Array.from(parts));
  }
  return out;
}

async function tarOf(
  deb: Uint8Array,
  member: "control.tar.gz" | "data.tar.gz",
): Promise<TarEntry[]> {
  const packed = (await members(deb)).get(member);
  assert.ok(packed !== undefined, member);
  return readTar(await decompress(packed, "gzip", { name: member }), { name: member });
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

Deno.test("buildDeb writes debian-binary, control.tar.gz and data.tar.gz in order", async () => {
  const deb = buildDeb({
    control: CONTROL,
    files: [{ path: "/usr/share/a", data: "a" }],
    mtime: 1,
  });
  const found = await members(deb);
  assert.deepEqual([...found.keys()], ["debian-binary", "control.tar.gz", "data.tar.gz"]);
  assert.equal(text(found.get("debian-binary")), "2.0\n");
  const gz = found.get("control.tar.gz") as Uint8Array;
  assert.deepEqual(
    [...gz.subarray(0, 10)],
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3],
    "gzip header: mtime 0, Unix",
  );
});

Deno.test("buildDeb is deterministic: same inputs, same bytes; another mtime, other bytes", () => {
  const options: BuildDebOptions = {
    control: CONTROL,
    files: [{ path: "/etc/kiro.conf", data: "x" }, {
      path: "/usr/bin/k",
      data: "#!/bin/sh\n",
      mode: 0o755,
    }],
    conffiles: ["/etc/kiro.conf"],
    maintainerScripts: { postinst: "#!/bin/sh\nexit 0\n" },
    mtime: 1700000000,
  };
  const first = buildDeb(options);
  assert.deepEqual(buildDeb(structuredClone(options)), first);
  assert.deepEqual(
    buildDeb({ ...options, files: [...options.files].reverse() }),
    first,
    "file order does not matter",
  );
  assert.notDeepEqual(buildDeb({ ...options, mtime: 1700000001 }), first);
});

Deno.test("buildDeb lists every directory, sorted depth-first, owned by root with one mtime", async () => {
  const deb = buildDeb({
    control: CONTROL,
    files: [
      { path: "/usr/share/doc/kiro-repo/copyright", data: "c" },
      { path: "/etc/apt/sources.list.d/kiro.sources", data: "s" },
      { path: "/usr/share-x", data: "dash sorts after the share/ tree" },
      { path: "/usr/lib/kiro", type: "directory", mode: 0o700 },
      { path: "/usr/bin/kiro", type: "symlink", target: "../lib/kiro/kiro" },
    ],
    mtime: 1234,
  });
  const entries = await tarOf(deb, "data.tar.gz");
  assert.deepEqual(entries.map((e) => [e.name, e.type, e.mode]), [
    ["./", "directory", 0o755],
    ["./etc/", "directory", 0o755],
    ["./etc/apt/", "directory", 0o755],
    ["./etc/apt/sources.list.d/", "directory", 0o755],
    ["./etc/apt/sources.list.d/kiro.sources", "file", 0o644],
    ["./usr/", "directory", 0o755],
    ["./usr/bin/", "directory", 0o755],
    ["./usr/bin/kiro", "symlink", 0o777],
    ["./usr/lib/", "directory", 0o755],
    ["./usr/lib/kiro/", "directory", 0o700],
    ["./usr/share/", "directory", 0o755],
    ["./usr/share/doc/", "directory", 0o755],
    ["./usr/share/doc/kiro-repo/", "directory", 0o755],
    ["./usr/share/doc/kiro-repo/copyright", "file", 0o644],
    ["./usr/share-x", "file", 0o644],
  ]);
  for (const entry of entries) {
    assert.deepEqual([entry.uid, entry.gid, entry.uname, entry.gname, entry.mtime], [
      0,
      0,
      "root",
      "root",
      1234,
    ]);
  }
});

Deno.test("buildDeb writes md5sums (conffiles excluded), conffiles and maintainer scripts with mode 0755", async () => {
  const deb = buildDeb({
    control: CONTROL,
    files: [{ path: "/etc/kiro.conf", data: "conf" }, { path: "/usr/share/kiro/b", data: "bee" }],
    conffiles: ["/etc/kiro.conf"],
    maintainerScripts: { postinst: "#!/bin/sh\n", prerm: "#!/bin/sh\n" },
    controlFiles: { triggers: "interest-noawait /usr/share/kiro\n" },
    mtime: 5,
  });
  const entries = await tarOf(deb, "control.tar.gz");
  assert.deepEqual(entries.map((e) => [e.name, e.mode]), [
    ["./", 0o755],
    ["./conffiles", 0o644],
    ["./control", 0o644],
    ["./md5sums", 0o644],
    ["./postinst", 0o755],
    ["./prerm", 0o755],
    ["./triggers", 0o644],
  ]);
  const byName = new Map(entries.map((e) => [e.name, text(e.data)]));
  assert.equal(byName.get("./conffiles"), "/etc/kiro.conf\n");
  assert.equal(
    byName.get("./md5sums"),
    `${createHash("md5").update("bee").digest("hex")}  usr/share/kiro/b\n`,
  );
  assert.equal(
    byName.get("./control"),
    "Package: kiro-repo\nVersion: 1.0\nArchitecture: all\nMaintainer: Kiro Team <team@kiro.dev>\n" +
      "Installed-Size: 7\nDescription: Kiro repository\n Adds the Kiro APT repository.\n",
  );
});

Deno.test("installedSize counts files in KiB rounded up and 1 per directory, as dpkg-gencontrol", () => {
  const files: DebFile[] = [
    { path: "/usr/bin/a", data: new Uint8Array(1) }, // 1 KiB
    { path: "/usr/bin/b", data: new Uint8Array(1024) }, // 1 KiB
    { path: "/usr/bin/c", data: new Uint8Array(1025) }, // 2 KiB
    { path: "/usr/bin/empty", data: new Uint8Array(0) }, // 0
    { path: "/usr/bin/l", type: "symlink", target: "a" }, // 1 KiB
  ];
  // Directories: ./, usr, usr/bin = 3.
  assert.equal(installedSize(files), 3 + 1 + 1 + 2 + 0 + 1);
});

Deno.test("buildDeb keeps a given Installed-Size", async () => {
  const deb = buildDeb({ control: { ...CONTROL, "installed-size": "999" }, files: [], mtime: 0 });
  assert.equal((await readDebBytes(deb, { name: "t.deb" })).control["installed-size"], "999");
});

Deno.test("buildDeb refuses inputs that cannot make a valid package", () => {
  const base = { control: CONTROL, files: [] as DebFile[], mtime: 0 };
  const { Description: _d, ...noDescription } = CONTROL;
  assert.throws(() => buildDeb({ ...base, control: noDescription }), /no Description/);
  assert.throws(
    () => buildDeb({ ...base, control: { ...CONTROL, Package: "Kiro" } }),
    /Invalid package name "Kiro"/,
  );
  assert.throws(
    () => buildDeb({ ...base, files: [{ path: "/a", data: "1" }, { path: "a", data: "2" }] }),
    /\/?a is given twice/,
  );
  assert.throws(
    () => buildDeb({ ...base, files: [{ path: "/a", data: "1" }, { path: "/a/b", data: "2" }] }),
    /a is a file but \/a\/b needs it to be a directory/,
  );
  assert.throws(
    () => buildDeb({ ...base, files: [{ path: "/../etc/x", data: "1" }] }),
    /Invalid package path/,
  );
  assert.throws(
    () => buildDeb({ ...base, conffiles: ["/etc/missing"] }),
    /Conffile \/etc\/missing/,
  );
  assert.throws(
    () => buildDeb({ ...base, controlFiles: { md5sums: "" } }),
    /Invalid control file name "md5sums"/,
  );
  assert.throws(() => buildDeb({ ...base, files: [{ path: "/a" }] }), /a file needs data/);
  assert.throws(
    () => buildDeb({ ...base, files: [{ path: "/a", data: "", mode: 0o10000 }] }),
    /Invalid mode/,
  );
  assert.throws(() => buildDeb({ ...base, mtime: 1.5 }), DebBuildError);
});

const packageName = fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,20}$/);
const version = fc.tuple(
  fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
  fc.stringMatching(/^[0-9][0-9a-z.+~]{0,10}$/),
  fc.option(fc.stringMatching(/^[0-9a-z.+~]{1,6}$/), { nil: undefined }),
).map(([epoch, upstream, revision]) =>
  `${epoch !== undefined ? `${epoch}:` : ""}${upstream}${
    revision !== undefined ? `-${revision}` : ""
  }`
);
const segment = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._+-]{0,12}$/);
const files = fc.uniqueArray(
  fc.record({
    path: fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) =>
      `/opt/${parts.join("/")}`
    ),
    data: fc.uint8Array({ maxLength: 3000 }),
    mode: fc.constantFrom(0o644, 0o755, 0o600),
  }),
  { maxLength: 8, selector: (file) => file.path },
).filter((list) =>
  // No file may be the parent directory of another.
  list.every((a) => list.every((b) => !b.path.startsWith(`${a.path}/`)))
);
const extra = fc.dictionary(
  fc.stringMatching(/^X-[A-Za-z][A-Za-z0-9]{0,8}$/),
  fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/),
  { maxKeys: 4 },
).filter((fields) =>
  // Field names are case-insensitive in a control paragraph: no two may differ by case alone.
  new Set(Object.keys(fields).map((name) => name.toLowerCase())).size ===
    Object.keys(fields).length
);

Deno.test("readDeb reads back what buildDeb builds: control fields and digests of the bytes", async () => {
  await fc.assert(
    fc.asyncProperty(
      packageName,
      version,
      fc.constantFrom("amd64", "arm64", "all"),
      extra,
      files,
      async (name, ver, architecture, extraFields, fileList) => {
        const control = {
          ...CONTROL,
          ...extraFields,
          Package: name,
          Version: ver,
          Architecture: architecture,
        };
        const deb = buildDeb({ control, files: fileList, mtime: 1700000000 });
        const info = await readDebBytes(deb, { name: `${name}.deb` });
        assert.deepEqual(info.control, {
          ...control,
          "Installed-Size": String(installedSize(fileList)),
        });
        assert.equal(info.size, deb.byteLength);
        assert.equal(info.md5, createHash("md5").update(deb).digest("hex"));
        assert.equal(info.sha1, createHash("sha1").update(deb).digest("hex"));
        assert.equal(info.sha256, createHash("sha256").update(deb).digest("hex"));
        const data = await tarOf(deb, "data.tar.gz");
        for (const file of fileList) {
          const entry = data.find((e) => e.name === `.${file.path}`);
          assert.ok(entry !== undefined, file.path);
          assert.deepEqual([...entry.data], [...file.data]);
          assert.equal(entry.mode, file.mode);
        }
      },
    ),
    { numRuns: 100 },
  );
});
