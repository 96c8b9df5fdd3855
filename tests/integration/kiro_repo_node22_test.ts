/**
 * The kiro-repo build is the same under Node 22 (the Lambda's runtime, and a
 * plain Node install on an operator's machine) as under Deno: the engine,
 * bundled with esbuild, gives the same `.deb` bytes from the same inputs.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadKiroRepoConfig, loadKiroRepoTemplates } from "../../tasks/kiro_repo/files.ts";
import { buildKiroRepo } from "../../tasks/kiro_repo/package.ts";
import { generateSigningKey, publicKeyring, readSigningKeys } from "../../lambda/signing/keys.ts";
import { bundleForNode22, node22Missing, runJsonUnderNode22 } from "../support/node22.ts";

const lambdaDir = new URL("../../tasks/kiro_repo/", import.meta.url).pathname;
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
  ignore: node22Missing("the kiro-repo Node 22 test"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kiro-repo-node22-" });
    try {
      const key = await generateSigningKey({ name: "Kiro", email: "k@kiro.dev", type: "ed25519" });
      const keyring = publicKeyring(await readSigningKeys(key.armoredPrivateKey));
      await Deno.writeFile(`${dir}/keyring.pgp`, keyring);
      const bundle = await bundleForNode22(ENTRY, { dir });
      for (const version of ["1.0", "1.1"]) {
        const fromNode = await runJsonUnderNode22(bundle, [`${dir}/keyring.pgp`, version]) as {
          node: string;
          sha256: string;
        };
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
