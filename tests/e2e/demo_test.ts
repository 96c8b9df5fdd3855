import assert from "node:assert/strict";
import { missingTools } from "../support/tools.ts";

Deno.test({
  name: "deno task demo publishes the samples and real apt downloads them",
  ignore: missingTools(["apt-get"], { root: true }),
  async fn() {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "tasks/demo.ts"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
    assert.match(out, /6 packages, \d+ objects written/);
    assert.match(out, /OK: 24 index files, 4 valid signatures/);
    assert.match(out, /apt read 4 packages for amd64/);
    assert.match(out, /apt read 4 packages for arm64/);
    assert.match(out, /apt-get download kiro_1\.1\.0_amd64\.deb: \d+ bytes, = kiro#1\.1\.0/);
    assert.match(
      out,
      /apt-get download kiro-cli_1%3a1\.0\.0~rc1_arm64\.deb: .* = kiro-cli#1:1\.0\.0~rc1/,
    );
    assert.match(out, /Signed-By: \/usr\/share\/keyrings\/kiro-archive-keyring\.pgp/);
  },
});
