/**
 * The files the Pulumi CLI reads: the project (runtime, entry point, name —
 * the config namespace), the stack files, and `package.json`, which must pin
 * the same versions Deno tests with.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { PROJECT_NAME } from "../../infra/settings.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (file: string) => Deno.readTextFileSync(join(ROOT, file));

Deno.test("Pulumi.yaml runs infra/index.ts with Node's type stripping under the project name the config uses", () => {
  const project = parse(read("Pulumi.yaml")) as {
    name: string;
    main: string;
    runtime: { name: string; options: Record<string, unknown> };
  };
  assert.equal(project.name, PROJECT_NAME);
  assert.equal(project.main, "infra/index.ts");
  assert.equal(project.runtime.name, "nodejs");
  assert.equal(project.runtime.options.typescript, false, "no ts-node: Node strips the types");
});

Deno.test("package.json is an ESM package pinning the versions deno.json tests with", () => {
  const pkg = JSON.parse(read("package.json")) as {
    type: string;
    engines: { node: string };
    dependencies: Record<string, string>;
  };
  const deno = JSON.parse(read("deno.json")) as { imports: Record<string, string> };
  assert.equal(pkg.type, "module");
  assert.equal(pkg.engines.node, ">=22.18");
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), [
    "@pulumi/aws",
    "@pulumi/pulumi",
    "esbuild",
  ]);
  for (const [name, version] of Object.entries(pkg.dependencies)) {
    assert.equal(
      deno.imports[name],
      `npm:${name}@${version}`,
      `${name} differs between package.json and deno.json`,
    );
  }
});

Deno.test("each stack file is that environment's: its own legacy table, region and tags", () => {
  for (const stack of ["dev", "prod"]) {
    const config =
      (parse(read(`Pulumi.${stack}.yaml`)) as { config: Record<string, unknown> }).config;
    assert.equal(config[`${PROJECT_NAME}:legacyTableName`], `kiro-package-versions-${stack}`);
    assert.match(String(config["aws:region"]), /^[a-z]{2}-[a-z]+-\d$/);
    assert.deepEqual(
      (config["aws:defaultTags"] as { tags: Record<string, string> }).tags.Environment,
      stack,
    );
    for (const key of Object.keys(config)) {
      assert.ok(
        key.startsWith(`${PROJECT_NAME}:`) || key.startsWith("aws:"),
        `unexpected namespace in ${key}`,
      );
    }
  }
});

Deno.test("deno.json denies the npm build scripts the first run would ask about, each one locked with scripts", () => {
  const deno = JSON.parse(read("deno.json")) as { allowScripts?: { deny?: string[] } };
  const lock = JSON.parse(read("deno.lock")) as {
    npm: Record<string, { scripts?: boolean }>;
  };
  // classic-level's install script only rebuilds the native module it ships prebuilt;
  // protobufjs's postinstall only prints a version notice (README.md, "Set-up").
  assert.deepEqual(deno.allowScripts?.deny, ["npm:classic-level", "npm:protobufjs"]);
  for (const denied of deno.allowScripts?.deny ?? []) {
    const name = denied.replace(/^npm:/, "");
    const locked = Object.entries(lock.npm).filter(([key]) => key.startsWith(`${name}@`));
    assert.ok(locked.length > 0, `${denied} is not in deno.lock: drop it from allowScripts`);
    assert.ok(locked.every(([, entry]) => entry.scripts === true), `${denied} has no scripts`);
  }
});
