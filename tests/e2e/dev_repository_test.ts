/**
 * `deno task dev` as an operator starts it, on a fresh state folder: before
 * any package is added, the repository it serves is signed and complete
 * (InRelease, Release.gpg, empty Packages for every channel, the keyring,
 * /index.html), and the real `apt-get update --error-on=any` accepts it.
 */

import assert from "node:assert/strict";
import { readKeyring, verifyClearsigned } from "../../lambda/signing/verify.ts";
import { describeRun, openApt } from "../support/apt.ts";
import { needsApt } from "../support/e2e_repository.ts";
import { startTaskProcess } from "../support/task_output.ts";

/** Starts `tasks/dev.ts` on `dir` with free ports; resolves once it printed its outputs. */
async function startDev(dir: string) {
  const dev = startTaskProcess("tasks/dev.ts", [], {
    env: { KIRO_LOCAL_DIR: dir, KIRO_LOCAL_DYNAMODB_PORT: "0", KIRO_LOCAL_S3_PORT: "0" },
  });
  let printed: string;
  try {
    printed = await dev.waitFor(/Outputs \(deno task outputs local\):[\s\S]*\n}\n/);
  } catch (error) {
    const { stderr } = await dev.stop();
    throw new Error(`${error instanceof Error ? error.message : error}\n${stderr}`);
  }
  const match = /Repository: (\S+)\/ /.exec(printed);
  if (match === null) {
    const { stderr } = await dev.stop();
    throw new Error(`deno task dev printed no repository:\n${printed}\n${stderr}`);
  }
  return { repoUrl: match[1] as string, printed, stop: () => dev.stop() };
}

async function fetched(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  const body = new Uint8Array(await response.arrayBuffer());
  assert.equal(response.status, 200, `${url}: ${response.status}`);
  return body;
}

Deno.test("deno task dev publishes an empty signed repository at start that apt-get update accepts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-dev-empty-" });
  const dev = await startDev(dir);
  try {
    assert.match(dev.printed, /\(published now; instructions: http:\S+\/index\.html\)/);
    const keys = await readKeyring(await fetched(`${dev.repoUrl}/kiro-archive-keyring.pgp`));
    for (const channel of ["stable", "beta"]) {
      const base = `${dev.repoUrl}/dists/${channel}`;
      const inRelease = new TextDecoder().decode(await fetched(`${base}/InRelease`));
      const { text, signatures } = await verifyClearsigned(inRelease, { keys });
      assert.ok(signatures.length > 0 && signatures.every((s) => s.verified), inRelease);
      assert.match(text, new RegExp(`^Suite: ${channel}$`, "m"));
      assert.equal(new TextDecoder().decode(await fetched(`${base}/Release`)), `${text}\n`);
      await fetched(`${base}/Release.gpg`);
      const packages = await fetched(`${base}/main/binary-amd64/Packages`);
      assert.equal(packages.byteLength, 0, `${channel} lists no package yet`);
    }
    const page = new TextDecoder().decode(await fetched(`${dev.repoUrl}/index.html`));
    assert.match(page, /<html/i);
    // The page names only packages the repository holds: nothing to install, no kiro-repo.deb.
    assert.doesNotMatch(page, /apt-get install [a-z]/);
    assert.doesNotMatch(page, /href="[^"]*kiro-repo\.deb"/);

    if (!needsApt()) {
      const apt = await openApt({
        repoUrl: dev.repoUrl,
        keyring: await fetched(`${dev.repoUrl}/kiro-archive-keyring.pgp`),
        architectures: ["amd64", "arm64"],
      });
      try {
        const update = await apt.update();
        assert.ok(update.success, describeRun(update));
        assert.match(update.release ?? "", /^Suite: stable$/m, describeRun(update));
        // apt fetches no index whose Release entry is empty: no package is listed.
        assert.ok(update.lists.every((list) => list.stanzas === 0), describeRun(update));
      } finally {
        await apt.close();
      }
    }
  } finally {
    const { status, stderr } = await dev.stop();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, stderr);
  }
});

Deno.test("deno task dev publishes nothing at start when the repository is already what the table gives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-dev-again-" });
  try {
    const first = await startDev(dir);
    const firstStop = await first.stop();
    assert.equal(firstStop.status.code, 0, firstStop.stderr);
    const second = await startDev(dir);
    const { status, stderr } = await second.stop();
    assert.equal(status.code, 0, stderr);
    assert.match(second.printed, /\(already published; instructions: /);
    assert.match(stderr, /it does: nothing to publish/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
