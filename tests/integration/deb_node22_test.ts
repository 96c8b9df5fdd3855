import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readDeb } from "../../lambda/deb/deb_reader.ts";
import { buildDeb } from "../../tasks/lib/deb_writer.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { debianPackagesMissing, fetchDebianPackages } from "../support/debian_packages.ts";
import { bundleForNode22, node22Missing, runJsonUnderNode22 } from "../support/node22.ts";
import { missingTools } from "../support/tools.ts";

const lambdaDeb = new URL("../../lambda/deb/", import.meta.url).pathname;
const tasksLib = new URL("../../tasks/lib/", import.meta.url).pathname;

// The script Node runs: read every .deb given, build one, print the results as JSON.
const ENTRY = `
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import { readDeb } from "${lambdaDeb}deb_reader.ts";
import { buildDeb } from "${tasksLib}deb_writer.ts";

const [paths, options] = JSON.parse(process.argv[2]);
const read = [];
for (const path of paths) {
  const info = await readDeb(Readable.toWeb(createReadStream(path)), { name: path });
  // The data member's first block travels as hex through JSON.
  read.push({ ...info, dataHead: Buffer.from(info.dataHead.bytes).toString("hex") });
}
const built = buildDeb(options);
console.log(JSON.stringify({
  node: process.version,
  read,
  built: createHash("sha256").update(built).digest("hex"),
}));
`;

const BUILD_OPTIONS = {
  control: {
    Package: "kiro-repo",
    Version: "1:1.0~rc1+b1",
    Architecture: "all",
    Maintainer: "Kiro Team <team@kiro.dev>",
    Description: "Kiro repository\n Adds the Kiro APT repository.\n .\n Second paragraph.",
  },
  files: [
    {
      path: "/etc/apt/sources.list.d/kiro.sources",
      data: "Types: deb\nURIs: https://example.invalid\n",
    },
    { path: "/usr/share/doc/kiro-repo/copyright", data: "Copyright 2025 Kiro\n".repeat(500) },
  ],
  conffiles: ["/etc/apt/sources.list.d/kiro.sources"],
  maintainerScripts: { postinst: "#!/bin/sh\nset -e\n" },
  mtime: 1700000000,
};

Deno.test({
  name: "the esbuild bundle of the deb reader and writer gives the same results under Node 22",
  ignore: node22Missing("the deb layer's Node 22 test") || debianPackagesMissing ||
    missingTools(["xz", "zstd"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "deb-node22-" });
    try {
      const packages = await fetchDebianPackages();
      const paths = [...packages.paths];
      for (const controlCompression of ["gzip", "xz", "zstd", "none"] as const) {
        const path = `${dir}/fixture-${controlCompression}.deb`;
        await Deno.writeFile(
          path,
          await makeTestDeb({
            name: "kiro",
            version: "1.0.337",
            architecture: "arm64",
            payloadSize: 300_000,
            controlCompression,
          }),
        );
        paths.push(path);
      }
      const bundle = await bundleForNode22(ENTRY, { dir });
      const fromNode = await runJsonUnderNode22(bundle, [
        JSON.stringify([paths, BUILD_OPTIONS]),
      ]) as {
        node: string;
        read: unknown[];
        built: string;
      };
      assert.match(fromNode.node, /^v22\./);
      const here = [];
      for (const path of paths) {
        const file = await Deno.open(path);
        const info = await readDeb(file.readable, { name: path });
        assert.ok("bytes" in info.dataHead, path);
        here.push({ ...info, dataHead: Buffer.from(info.dataHead.bytes).toString("hex") });
      }
      assert.deepEqual(fromNode.read, here);
      assert.equal(
        fromNode.built,
        createHash("sha256").update(buildDeb(BUILD_OPTIONS)).digest("hex"),
        "buildDeb gives the same bytes under Node 22 and Deno",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
