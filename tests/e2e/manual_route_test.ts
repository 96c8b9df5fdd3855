/**
 * The install page's manual route, run as written in a real Debian system (a
 * debootstrap'd bookworm root) against a repository published on a local
 * test stack: the commands from `manualInstallCommands` give a clean signed
 * `apt-get update --error-on=any`, apt sees the package, the fingerprint
 * command shows the page's fingerprint, and the uninstall commands leave apt
 * working without the repository.
 *
 * The minbase root has neither `sudo` nor `curl`: two stand-ins run the
 * command as root and copy the file the test fetched from the same URL on the
 * host. Every other command (install, chmod, tee, dpkg, apt-get) is the real one.
 */

import assert from "node:assert/strict";
import { headersFor } from "../../lambda/aws/object_headers.ts";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import {
  fingerprintCommand,
  KEYRING_NAME,
  manualInstallCommands,
  uninstallCommands,
} from "../../lambda/publish/index_html.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { rebuildDependencies } from "../../lambda/dependencies.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { createDebianRoot } from "../support/debian_root.ts";
import { recordFromDeb } from "../support/folder_repository.ts";
import { testSigningKeys } from "../support/publish_fixtures.ts";
import { startTestStack } from "../support/stack.ts";
import { missingTools } from "../support/tools.ts";

const SUDO = '#!/bin/sh\nexec "$@"\n';
const CURL = [
  "#!/bin/sh",
  "# Test stand-in: the file the test fetched on the host from the same URL.",
  'out=""; url=""',
  "while [ $# -gt 0 ]; do",
  '  case "$1" in -o) out="$2"; shift 2 ;; -*) shift ;; *) url="$1"; shift ;; esac',
  "done",
  'cp "/tmp/fetched/$(basename "$url")" "$out"',
  "",
].join("\n");

Deno.test({
  name: "the install page's manual route gives a working apt-get update in a real Debian root",
  ignore: missingTools(["debootstrap", "chroot", "gpg"], { root: true }),
  async fn() {
    const [stack, root] = await Promise.all([startTestStack(), createDebianRoot()]);
    try {
      const url = stack.outputs.repoUrl;
      const arch = new TextDecoder().decode(
        (await new Deno.Command("dpkg", { args: ["--print-architecture"], stdout: "piped" })
          .output()).stdout,
      ).trim();
      const bytes = await makeTestDeb({ name: "kiro", version: "1.0.337", architecture: arch });
      const record = await recordFromDeb({ bytes, packageType: "external_download" });
      await objectStoreFor(stack.outputs, stack.clients).put(record.pool_key, bytes, {
        ...headersFor(record.pool_key),
        sha256: record.sha256_hash,
      });
      await stack.store.put(record);
      const keys = await testSigningKeys();
      await forceRebuild(rebuildDependencies(stack.outputs, stack.clients, { keys }));

      await Deno.mkdir(root.path("/tmp/fetched"), { recursive: true });
      const keyring = new Uint8Array(await (await fetch(`${url}/${KEYRING_NAME}`)).arrayBuffer());
      await Deno.writeFile(root.path(`/tmp/fetched/${KEYRING_NAME}`), keyring);
      for (const [name, text] of [["sudo", SUDO], ["curl", CURL]] as const) {
        await Deno.writeTextFile(root.path(`/usr/bin/${name}`), text, { mode: 0o755 });
      }

      const install = await root.sh(`set -e\n${manualInstallCommands(url)}`);
      const shown = `${install.script}\n${install.stdout}\n${install.stderr}`;
      assert.ok(install.success, shown);
      assert.doesNotMatch(shown, /^(W|E):/m);
      const sources = await Deno.readTextFile(root.path("/etc/apt/sources.list.d/kiro.sources"));
      assert.match(sources, new RegExp(`^Architectures: ${arch}$`, "m"));
      assert.match(sources, /^Signed-By: \/etc\/apt\/keyrings\/kiro-archive-keyring\.pgp$/m);
      const mode = (await Deno.stat(root.path("/etc/apt/keyrings"))).mode ?? 0;
      assert.equal(mode & 0o777, 0o755);

      const update = await root.check("apt-get -q --error-on=any update");
      assert.doesNotMatch(`${update.stdout}\n${update.stderr}`, /^(W|E):/m);
      const policy = await root.check("apt-cache policy kiro");
      assert.match(policy.stdout, /Candidate: 1\.0\.337/);

      // The fingerprint command (gpg is on the host) shows the key the page names.
      const fingerprint = await new Deno.Command("sh", {
        args: [
          "-c",
          fingerprintCommand().replace("/etc/apt/keyrings", root.path("/etc/apt/keyrings")),
        ],
        stdout: "piped",
        env: { GNUPGHOME: root.path("/tmp") },
      }).output();
      const printed = new TextDecoder().decode(fingerprint.stdout).replaceAll(" ", "");
      for (const key of keys) assert.ok(printed.includes(key.fingerprint), printed);

      await root.check(`set -e\n${uninstallCommands("manual")}`);
      const after = await root.check("apt-get -q --error-on=any update");
      assert.doesNotMatch(`${after.stdout}\n${after.stderr}`, /127\.0\.0\.1/);
    } finally {
      await Promise.all([stack.close(), root.close()]);
    }
  },
});
