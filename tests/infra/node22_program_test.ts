/**
 * The Pulumi program under Node 22 itself, the way Pulumi's Node.js runtime
 * loads it: `.ts` files with native type stripping (no flags, no compile
 * step), `@pulumi/*` resolved from `node_modules`, ESM (`"type": "module"`).
 * Uses the mocks, so no Pulumi CLI and no AWS.
 *
 * CI sets `KIRO_NODE22`; elsewhere the test looks for the copy `.ci/run`
 * installs and is skipped, with a message, when there is none.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { node22Missing, node22Path } from "../support/node22.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NODE22 = node22Path();
const skip = node22Missing("the Node 22 program test (Node >= 22.18)");

const RUNNER = (stack: string, entry: string) => `
import { runProgramWithMocks, stackConfig } from ${
  JSON.stringify(pathToFileURL(join(ROOT, "tests/support/pulumi_mocks.ts")).href)
};
const config = stackConfig(${JSON.stringify(stack)}, {
  root: ${JSON.stringify(ROOT)},
  overrides: { "kiro-debian-repo-manager:lambdaEntry": ${JSON.stringify(entry)} },
});
const result = await runProgramWithMocks({
  project: "kiro-debian-repo-manager",
  stack: ${JSON.stringify(stack)},
  config,
  load: () => import(${JSON.stringify(pathToFileURL(join(ROOT, "infra/index.ts")).href)}),
});
process.stdout.write(JSON.stringify({
  node: process.versions.node,
  outputs: result.outputs,
  types: result.resources.map((resource) => resource.type),
  functionEnvironment: result.resources.find((r) => r.type === "aws:lambda/function:Function")?.inputs.environment,
}));
`;

Deno.test({
  name: "the program loads and registers its resources under Node 22 with native type stripping",
  ignore: skip,
  async fn() {
    assert.ok(NODE22, "KIRO_NODE22 is not set (CI must set it: see .ci/run)");
    const dir = await Deno.makeTempDir({ prefix: "kiro-node22-" });
    try {
      let entry = join(ROOT, "lambda", "handler.ts");
      if (!existsSync(entry)) {
        console.error(
          "lambda/handler.ts does not exist yet: the Node 22 run bundles a fixture handler",
        );
        entry = join(dir, "handler.ts");
        await Deno.writeTextFile(
          entry,
          "export async function handler(): Promise<number> {\n  return 1;\n}\n",
        );
      }
      for (const stack of ["dev", "prod"]) {
        const runner = join(dir, `run-${stack}.mjs`);
        await Deno.writeTextFile(runner, RUNNER(stack, entry));
        // Exactly how Pulumi starts the program: plain `node`, no flags, from the project root.
        const output = await new Deno.Command(NODE22, {
          args: [runner],
          cwd: ROOT,
          env: { PULUMI_CONFIG: "", NODE_OPTIONS: "" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(output.stderr);
        assert.ok(output.success, `Node 22 could not run the program (${stack}):\n${stderr}`);
        const result = JSON.parse(new TextDecoder().decode(output.stdout)) as {
          node: string;
          outputs: Record<string, string>;
          types: string[];
          functionEnvironment: { variables: Record<string, string> };
        };
        const [major, minor] = result.node.split(".").map(Number) as [number, number];
        assert.ok(
          major > 22 || (major === 22 && minor >= 18),
          `Node ${result.node}: the program needs >= 22.18 (type stripping by default)`,
        );
        assert.doesNotMatch(stderr, /ExperimentalWarning|Error/);
        assert.equal(result.outputs.environment, stack);
        assert.equal(result.outputs.tableName, `kiro-debian-repo-manager-packages-${stack}`);
        assert.equal(result.outputs.bucketName, `kiro-debian-repo-manager-repo-${stack}`);
        assert.equal(result.outputs.functionName, `kiro-debian-repo-manager-publisher-${stack}`);
        assert.match(result.outputs.repoUrl ?? "", /^https:\/\//);
        assert.equal(result.types.filter((type) => type.startsWith("aws:")).length, 30);
        for (
          const type of [
            "aws:dynamodb/table:Table",
            "aws:s3/bucket:Bucket",
            "aws:cloudfront/distribution:Distribution",
            "aws:lambda/function:Function",
            "aws:cloudwatch/eventRule:EventRule",
            "aws:secretsmanager/secret:Secret",
            "aws:sns/topic:Topic",
          ]
        ) {
          assert.ok(result.types.includes(type), `${type} was not registered under Node`);
        }
        assert.equal(
          result.functionEnvironment.variables.TABLE_NAME,
          `kiro-debian-repo-manager-packages-${stack}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
