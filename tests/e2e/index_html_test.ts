/**
 * The published index.html, rendered by a real browser (headless Chromium)
 * from the local test stack: its visible text gives the install commands
 * with the repository's URL, and lists the packages.
 */

import assert from "node:assert/strict";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { objectStoreFor, rebuildDependencies } from "../../lambda/dependencies.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";
import { startTestStack } from "../support/stack.ts";
import { missingTools } from "../support/tools.ts";

async function chromium(args: string[]): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "kiro-chromium-" });
  try {
    const { code, stdout, stderr } = await new Deno.Command("chromium", {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        `--user-data-dir=${profile}`,
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return new TextDecoder().decode(stdout);
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

Deno.test({
  name: "the instructions page renders the install commands with the repository URL",
  ignore: missingTools(["chromium"]),
  async fn() {
    const stack = await startTestStack();
    try {
      const objects = objectStoreFor(stack.outputs, stack.clients);
      const records = await seedPool(objects, [
        syntheticRecord({ name: "kiro", version: "1.0.337", architecture: "amd64" }),
        syntheticRecord({
          name: "kiro-cli",
          version: "2.0",
          architecture: "arm64",
          description: "Kiro <CLI> & tools\n long",
        }),
        syntheticRecord({ name: "kiro-repo", version: "1.3", architecture: "all" }),
      ]);
      for (const record of records) await stack.store.put(record);
      await forceRebuild(
        rebuildDependencies(stack.outputs, stack.clients, { keys: await testSigningKeys() }),
      );
      const url = stack.outputs.repoUrl;
      // --dump-dom prints the DOM after parsing: the text a user sees, entities decoded.
      const dom = await chromium(["--dump-dom", `${url}/index.html`]);
      const text = dom.replace(/<[^>]+>/g, "").replaceAll("&amp;", "&").replaceAll("&lt;", "<")
        .replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&#39;", "'");
      assert.ok(text.includes(`curl -fsSLO ${url}/kiro-repo.deb`), text);
      assert.ok(text.includes("sudo apt install ./kiro-repo.deb"));
      assert.ok(
        text.includes(
          `sudo curl -fsSL -o /usr/share/keyrings/kiro-archive-keyring.pgp ` +
            `${url}/kiro-archive-keyring.pgp`,
        ),
      );
      assert.ok(text.includes("/etc/apt/sources.list.d/kiro.sources"));
      assert.ok(text.includes(`URIs: ${url}\nSuites: stable\nComponents: main\n`));
      assert.ok(text.includes("Signed-By: /usr/share/keyrings/kiro-archive-keyring.pgp"));
      assert.ok(text.includes("sudo apt update && sudo apt install kiro"));
      assert.ok(text.includes("kiro1.0.337amd64"), "kiro and its latest version are listed");
      assert.ok(text.includes("Kiro <CLI> & tools"), "a description is shown as text, escaped");
      assert.ok(!/<CLI>/.test(dom), "the description did not become markup");
      // The links point at real objects of the repository.
      for (const path of ["kiro-repo.deb", "kiro-archive-keyring.pgp"]) {
        assert.ok(dom.includes(`href="${url}/${path}"`), path);
        const response = await fetch(`${url}/${path}`);
        assert.equal(response.status, 200, path);
        await response.body?.cancel();
      }
    } finally {
      await stack.close();
    }
  },
});
