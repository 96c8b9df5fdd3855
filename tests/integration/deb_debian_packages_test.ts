import assert from "node:assert/strict";
import { readDeb } from "../../lambda/deb/deb_reader.ts";
import { debianPackagesMissing, fetchDebianPackages } from "../support/debian_packages.ts";
import { missingTools } from "../support/tools.ts";
import { commandOutput } from "../../tasks/lib/command.ts";

async function readFile(path: string) {
  const file = await Deno.open(path);
  return await readDeb(file.readable, { name: path });
}

const ignore = debianPackagesMissing || missingTools(["md5sum", "sha1sum", "sha256sum", "ar"]);

Deno.test({
  name: "readDeb reads real Debian packages' control fields as dpkg-deb does",
  ignore,
  async fn() {
    const packages = await fetchDebianPackages();
    for (const path of packages.paths) {
      const info = await readFile(path);
      // The field names, in order, from the raw control file.
      const raw = await commandOutput("dpkg-deb", ["--field", path]);
      const names = raw.split("\n").filter((line) => /^[^ \t#][^:]*:/.test(line))
        .map((line) => line.slice(0, line.indexOf(":")));
      assert.deepEqual(Object.keys(info.control), names, path);
      for (const [name, value] of Object.entries(info.control)) {
        const printed = (await commandOutput("dpkg-deb", ["--field", path, name])).replace(
          /\n$/,
          "",
        );
        assert.equal(value, printed.replace(/[ \t]+$/gm, ""), `${path}: ${name}`);
      }
    }
  },
});

Deno.test({
  name:
    "readDeb's size and digests of real Debian packages match stat, md5sum, sha1sum and sha256sum",
  ignore,
  async fn() {
    const packages = await fetchDebianPackages();
    for (const path of packages.paths) {
      const info = await readFile(path);
      assert.equal(info.size, (await Deno.stat(path)).size, path);
      assert.equal(info.md5, (await commandOutput("md5sum", [path])).split(" ")[0], path);
      assert.equal(info.sha1, (await commandOutput("sha1sum", [path])).split(" ")[0], path);
      assert.equal(info.sha256, (await commandOutput("sha256sum", [path])).split(" ")[0], path);
    }
  },
});

Deno.test({
  name: "readDeb handles the Debian packages' kinds: all, epoch, lib, xz/gzip/zstd/none control",
  ignore,
  async fn() {
    const packages = await fetchDebianPackages();
    assert.equal((await readFile(packages.archAll)).control.Architecture, "all");
    assert.match((await readFile(packages.epoch)).control.Version as string, /^[0-9]+:/);
    assert.match((await readFile(packages.library)).control.Package as string, /^lib/);
    const compressions = {
      xz: packages.xzControl,
      gzip: packages.gzipControl,
      zstd: packages.zstdControl,
      none: packages.noneControl,
    };
    for (const [compression, path] of Object.entries(compressions)) {
      const members = (await commandOutput("ar", ["t", path])).split("\n");
      const suffix = { xz: ".xz", gzip: ".gz", zstd: ".zst", none: "" }[compression];
      assert.ok(
        members.includes(`control.tar${suffix}`),
        `${path} has control.tar${suffix}: ${members}`,
      );
      const info = await readFile(path);
      assert.equal(info.controlCompression, compression);
      assert.equal(info.control.Package, "netbase");
    }
  },
});
