/**
 * The published index.html, rendered by a real browser (headless Chromium)
 * from the local test stack: kiro-repo.deb first, the manual route under
 * /etc/apt/keyrings with a deb822 file, the fingerprint check next to the
 * expected fingerprints, copy buttons (plain script), tested distributions,
 * uninstall steps, every version of each channel; no external resource. A
 * screenshot is kept at `.local/test-output/index_html/index.png`.
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
      // --dump-dom prints the DOM after its scripts ran: the text a user sees, entities decoded.
      const dom = await chromium(["--dump-dom", `${url}/index.html`]);
      const text = dom.replace(/<[^>]+>/g, "").replaceAll("&amp;", "&").replaceAll("&lt;", "<")
        .replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&#39;", "'");
      const at = (part: string) => {
        const index = text.indexOf(part);
        assert.ok(index >= 0, `the page shows ${JSON.stringify(part)}`);
        return index;
      };
      assert.ok(
        at(`curl -fsSLO ${url}/kiro-repo.deb`) < at("sudo install -d -m 0755 /etc/apt/keyrings"),
        "kiro-repo.deb comes before the manual route",
      );
      at("sudo apt-get install ./kiro-repo.deb");
      at(
        `sudo curl -fsSL -o /etc/apt/keyrings/kiro-archive-keyring.pgp ${url}/kiro-archive-keyring.pgp`,
      );
      at(
        `URIs: ${url}\nSuites: stable\nComponents: main\nArchitectures: $(dpkg --print-architecture)\n` +
          "Signed-By: /etc/apt/keyrings/kiro-archive-keyring.pgp",
      );
      const fingerprints = (await testSigningKeys()).map((key) => key.fingerprint);
      const command = at(
        "gpg --show-keys --with-fingerprint /etc/apt/keyrings/kiro-archive-keyring.pgp",
      );
      for (const fingerprint of fingerprints) assert.ok(at(fingerprint) > command);
      at("sudo apt-get update && sudo apt-get install kiro");
      at("Debian 12 (bookworm)");
      at("sudo apt-get purge kiro-repo && sudo apt-get update");
      for (const row of ["kiro1.0.337amd64", "kiro-cli2.0arm64", "kiro-repo1.3all"]) at(row);
      assert.match(text, /Last published \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
      at("Kiro <CLI> & tools");
      assert.ok(!/<CLI>/.test(dom), "the description did not become markup");
      // The copy buttons' plain script ran: every button is shown, labelled, one per command.
      const buttons = dom.match(/<button [^>]*data-copy="cmd-\d+"[^>]*>/g) ?? [];
      assert.ok(buttons.length >= 6, dom);
      for (const button of buttons) {
        assert.doesNotMatch(button, /\bhidden\b/);
        assert.match(button, /aria-label="Copy: [^"]+"/);
      }
      assert.doesNotMatch(dom, /<(script|link|img)[^>]+(src|href)=/, "no external resource");
      // A screenshot for people, kept under the test's output.
      const shots = new URL("../../.local/test-output/index_html/", import.meta.url).pathname;
      await Deno.mkdir(shots, { recursive: true });
      await chromium([
        `--screenshot=${shots}index.png`,
        "--window-size=1280,3000",
        `${url}/index.html`,
      ]);
      assert.ok((await Deno.stat(`${shots}index.png`)).size > 10_000);
      console.log(`Screenshot: ${shots}index.png`);
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
