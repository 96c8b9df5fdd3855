/**
 * `deno task preflight`: the program dry run under the Node Pulumi will use
 * (a good config passes, a broken one and an old Node are refused with what
 * to fix), and the deno steps reporting what fails.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main, preflight } from "../../tasks/preflight.ts";
import { node22Missing, node22Path } from "../support/node22.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NODE22 = node22Path();
const noNode22 = node22Missing("the preflight program tests (Node >= 22.18)");

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-preflight-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "preflight dry-runs the program under Node 22 with each stack's own config",
  ignore: noNode22,
  async fn() {
    const results = await preflight(["dev", "prod"], {
      steps: ["program"],
      node: NODE22 as string,
    });
    assert.deepEqual(results.map((r) => [r.step, r.ok]), [["program (dev)", true], [
      "program (prod)",
      true,
    ]]);
    assert.match(
      results[0]?.detail ?? "",
      /^Node 22\.\d+\.\d+: 30 resources, outputs kiro-debian-repo-manager-packages-dev,/,
    );
    assert.match(results[1]?.detail ?? "", /kiro-debian-repo-manager-publisher-prod$/);
  },
});

Deno.test({
  name: "preflight fails the program step on a broken stack config, naming the key",
  ignore: noNode22,
  async fn() {
    await withTempDir(async (dir) => {
      const file = join(dir, "Pulumi.dev.yaml");
      const good = await Deno.readTextFile(join(ROOT, "Pulumi.dev.yaml"));
      await Deno.writeTextFile(file, good.replace(/scheduleRate: .*/, "scheduleRate: every hour"));
      const [result] = await preflight(["dev"], {
        steps: ["program"],
        node: NODE22 as string,
        configFiles: { dev: file },
      });
      assert.equal(result?.ok, false);
      assert.match(
        result?.detail ?? "",
        /the program fails under Node with the dev config: Cannot use the stack config in Pulumi\.dev\.yaml: kiro-debian-repo-manager:scheduleRate must be an EventBridge rate/,
      );
    });
  },
});

Deno.test("preflight refuses a Node older than 22.18 before running the program", async () => {
  await withTempDir(async (dir) => {
    const fakeNode = join(dir, "node");
    await Deno.writeTextFile(fakeNode, '#!/bin/sh\necho "v22.17.1"\n', { mode: 0o755 });
    const [result] = await preflight(["prod"], { steps: ["program"], node: fakeNode });
    assert.equal(result?.ok, false);
    assert.match(
      result?.detail ?? "",
      /is Node v22\.17\.1: the Pulumi program needs Node >= 22\.18/,
    );
    const [missing] = await preflight(["prod"], {
      steps: ["program"],
      node: join(dir, "no-such-node"),
    });
    assert.match(missing?.detail ?? "", /Cannot run .*no-such-node .*install Node >= 22\.18/);
  });
});

Deno.test("preflight reports format and lint problems, and passes once they are fixed", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "deno.json"), "{}\n");
    await Deno.writeTextFile(
      join(dir, "bad.ts"),
      "export const x = 1;;\nexport function f() { var y = 2; return y }\n",
    );
    const failed = await preflight([], { root: dir, steps: ["fmt", "lint"] });
    assert.deepEqual(failed.map((r) => [r.step, r.ok]), [["fmt", false], ["lint", false]]);
    assert.match(failed[0]?.detail ?? "", /deno fmt --check failed:[\s\S]*bad\.ts/);
    assert.match(failed[1]?.detail ?? "", /deno lint failed:[\s\S]*no-var/);
    await Deno.writeTextFile(
      join(dir, "bad.ts"),
      "export const x = 1;\nexport function f(): number {\n  const y = 2;\n  return y;\n}\n",
    );
    const passed = await preflight([], { root: dir, steps: ["fmt", "lint"] });
    assert.deepEqual(passed.map((r) => [r.step, r.ok]), [["fmt", true], ["lint", true]]);
  });
});

Deno.test("preflight refuses environments without a Pulumi stack and unknown steps", async () => {
  const lines: string[] = [];
  const { error } = console;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    assert.equal(await main(["local"]), 2);
    assert.equal(await main(["dev", "--only", "deploy"]), 2);
    assert.equal(await main(["--env", "dev", "prod"]), 2);
    assert.equal(await main(["--help"]), 0);
  } finally {
    console.error = error;
  }
  const out = lines.join("\n");
  assert.match(out, /Option --env must be one of dev, prod \(got "local"\)/);
  assert.match(
    out,
    /Option --only must be one of changelog, fmt, lint, check, test, program \(got "deploy"\)/,
  );
  assert.match(out, /given twice/);
});
