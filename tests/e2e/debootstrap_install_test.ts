/**
 * kiro-repo end to end, in a real Debian system (a debootstrap'd bookworm
 * root): a repository published on a local test stack by
 * `deno task build-kiro-repo` (with a sample `kiro` package), then inside the
 * root: a hand-made kiro.list for the same URL, `apt-get install
 * ./kiro-repo.deb` fetched from the repository root, signed `apt-get update`
 * with one working source, `apt-get install kiro`, an upgrade to a newer
 * kiro-repo, remove (apt keeps working), reinstall, and purge (nothing of it
 * left).
 *
 * Needs root, debootstrap and chroot (CI runs it); the root is cached under
 * `.local/cache/debian-root/`.
 */

import assert from "node:assert/strict";
import { headersFor } from "../../lambda/aws/object_headers.ts";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import { runBuildKiroRepo } from "../../tasks/build_kiro_repo.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { createDebianRoot, type DebianRoot, type RootRunResult } from "../support/debian_root.ts";
import { recordFromDeb } from "../support/folder_repository.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { missingTools } from "../support/tools.ts";

async function publishKiroRepo(stack: TestStack, args: string[] = []): Promise<void> {
  const log: string[] = [];
  const code = await runBuildKiroRepo(["--env", "local", "--verify-timeout", "10", ...args], {
    log: (line) => log.push(line),
    out: (line) => log.push(line),
    resolve: (name) =>
      Promise.resolve({ name, outputs: stack.outputs, close: () => Promise.resolve() }),
    verifyIntervalMs: 100,
  });
  assert.equal(code, 0, log.join("\n"));
}

async function publishSampleKiro(stack: TestStack): Promise<void> {
  // The root is the host's architecture (debootstrap's default).
  const arch = new TextDecoder().decode(
    (await new Deno.Command("dpkg", { args: ["--print-architecture"], stdout: "piped" }).output())
      .stdout,
  ).trim();
  const bytes = await makeTestDeb({ name: "kiro", version: "1.0.337", architecture: arch });
  const record = await recordFromDeb({ bytes, packageType: "external_download" });
  await objectStoreFor(stack.outputs, stack.clients).put(record.pool_key, bytes, {
    ...headersFor(record.pool_key),
    sha256: record.sha256_hash,
  });
  assert.equal(await stack.store.put(record), "created");
}

async function fetchLatestKiroRepo(stack: TestStack, root: DebianRoot): Promise<void> {
  const response = await fetch(`${stack.outputs.repoUrl}/kiro-repo.deb`);
  assert.equal(response.status, 200);
  await Deno.writeFile(
    root.path("/tmp/kiro-repo.deb"),
    new Uint8Array(await response.arrayBuffer()),
  );
}

function output(result: RootRunResult): string {
  return `${result.stdout}\n${result.stderr}`;
}

async function exists(root: DebianRoot, path: string): Promise<boolean> {
  try {
    await Deno.lstat(root.path(path));
    return true;
  } catch {
    return false;
  }
}

const UPDATE = "apt-get -q --error-on=any update";

/** A signed `apt-get update` that succeeds without a warning or error line. */
async function update(root: DebianRoot): Promise<RootRunResult> {
  const result = await root.check(UPDATE);
  assert.doesNotMatch(output(result), /Conflicting values|^W:|^E:/m, output(result));
  return result;
}

Deno.test({
  name:
    "kiro-repo installs, configures apt, upgrades, removes and purges cleanly in a real Debian root",
  ignore: missingTools(["debootstrap", "chroot"], { root: true }),
  async fn() {
    const [stack, root] = await Promise.all([startTestStack(), createDebianRoot()]);
    try {
      const url = stack.outputs.repoUrl;
      await publishSampleKiro(stack);
      await publishKiroRepo(stack);

      // A machine set up by hand earlier: kiro.list for the same URL, its own copy of the key.
      const keyring = new Uint8Array(
        await (await fetch(`${url}/kiro-archive-keyring.pgp`)).arrayBuffer(),
      );
      await Deno.mkdir(root.path("/etc/apt/keyrings"), { recursive: true });
      await Deno.writeFile(root.path("/etc/apt/keyrings/kiro.pgp"), keyring);
      const handMade = `deb [signed-by=/etc/apt/keyrings/kiro.pgp] ${url}/ stable main\n`;
      await Deno.writeTextFile(root.path("/etc/apt/sources.list.d/kiro.list"), handMade);
      await update(root);

      // What the maintainer scripts prevent: both entries at once break apt.
      await fetchLatestKiroRepo(stack, root);
      await root.check("dpkg-deb -x /tmp/kiro-repo.deb /tmp/unpacked");
      await root.check(
        "cp /tmp/unpacked/etc/apt/sources.list.d/kiro.sources /etc/apt/sources.list.d/both.sources && " +
          "cp /tmp/unpacked/usr/share/keyrings/kiro-archive-keyring.pgp /usr/share/keyrings/",
      );
      const conflicting = await root.sh(UPDATE);
      assert.ok(!conflicting.success, output(conflicting));
      assert.match(output(conflicting), /Conflicting values set for option Signed-By/);
      await root.check(
        "rm -r /etc/apt/sources.list.d/both.sources /usr/share/keyrings/kiro-archive-keyring.pgp /tmp/unpacked",
      );

      // Install kiro-repo from the repository root URL.
      const install = await root.check("cd /tmp && apt-get install -y -q ./kiro-repo.deb");
      assert.match(
        output(install),
        /kiro-repo: disabled the entry for http:\/\/127\.0\.0\.1:\d+\/\S+ in \/etc\/apt\/sources\.list\.d\/kiro\.list/,
      );
      assert.match(
        await Deno.readTextFile(root.path("/etc/apt/sources.list.d/kiro.list")),
        /^# Disabled by kiro-repo: .*:\n# deb \[signed-by=\/etc\/apt\/keyrings\/kiro\.pgp\] /,
      );
      const sources = await Deno.readTextFile(root.path("/etc/apt/sources.list.d/kiro.sources"));
      assert.match(sources, new RegExp(`\\nURIs: ${url.replaceAll(".", "\\.")}\\n`));
      assert.deepEqual(
        await Deno.readFile(root.path("/usr/share/keyrings/kiro-archive-keyring.pgp")),
        keyring,
      );
      await update(root);
      const fetched = await root.check(
        "ls /var/lib/apt/lists/ | grep -c '_dists_stable_InRelease$'",
      );
      assert.equal(fetched.stdout.trim(), "1", "one source for the repository");

      // Install kiro from it.
      await root.check("apt-get install -y -q kiro");
      assert.equal((await root.check("dpkg-query -W -f='${Version}' kiro")).stdout, "1.0.337");

      // A newer kiro-repo is an ordinary upgrade.
      await publishKiroRepo(stack, ["--version", "1.1"]);
      await update(root);
      await root.check("apt-get upgrade -y -q");
      assert.equal((await root.check("dpkg-query -W -f='${Version}' kiro-repo")).stdout, "1.1");

      // Remove: apt keeps working and no longer reads the repository.
      const owned = (await root.check("dpkg -L kiro-repo")).stdout.trim().split("\n");
      assert.ok(owned.includes("/etc/apt/sources.list.d/kiro.sources"), owned.join("\n"));
      assert.ok(owned.includes("/usr/share/keyrings/kiro-archive-keyring.pgp"), owned.join("\n"));
      await root.check("apt-get remove -y -q kiro-repo");
      const afterRemove = await update(root);
      assert.doesNotMatch(output(afterRemove), /127\.0\.0\.1/);
      assert.ok(!(await exists(root, "/etc/apt/sources.list.d/kiro.sources")));
      assert.ok(await exists(root, "/etc/apt/sources.list.d/kiro.sources.disabled"));
      assert.equal(
        (await root.check("dpkg-query -W -f='${Status}' kiro-repo")).stdout,
        "deinstall ok config-files",
      );

      // Reinstall: the kept source comes back.
      await fetchLatestKiroRepo(stack, root);
      await root.check("cd /tmp && apt-get install -y -q ./kiro-repo.deb");
      assert.ok(await exists(root, "/etc/apt/sources.list.d/kiro.sources"));
      assert.ok(!(await exists(root, "/etc/apt/sources.list.d/kiro.sources.disabled")));
      const reinstalled = await update(root);
      assert.match(output(reinstalled), /127\.0\.0\.1/);

      // Purge: nothing of the package is left, apt still works.
      await root.check("apt-get remove -y -q kiro-repo && apt-get purge -y -q kiro-repo");
      const status = await root.sh("dpkg-query -W -f='${Status}' kiro-repo");
      assert.ok(
        !status.success || status.stdout === "" || /not-installed/.test(status.stdout),
        status.stdout,
      );
      for (const path of owned) {
        if (path === "/." || !(await exists(root, path))) continue;
        // Only folders other packages also own may stay (/usr/share/doc, /etc/apt…).
        const info = await Deno.lstat(root.path(path));
        const shared = await root.sh(`dpkg-query -S '${path}'`);
        assert.ok(info.isDirectory && shared.success, `${path} is left after purge`);
      }
      for (
        const path of ["/etc/apt/sources.list.d/kiro.sources.disabled", "/usr/share/doc/kiro-repo"]
      ) {
        assert.ok(!(await exists(root, path)), `${path} is left after purge`);
      }
      await update(root);
    } finally {
      await root.close();
      await stack.close();
    }
  },
});
