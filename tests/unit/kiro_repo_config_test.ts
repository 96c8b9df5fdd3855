/**
 * The kiro-repo build configuration: the shipped files are valid, and every
 * kind of mistake is reported with the file and field, before anything is
 * built (`docs/design.md`, "kiro-repo").
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  configProblems,
  type KiroRepoConfig,
  KiroRepoConfigError,
  kiroRepoVersionError,
  parseKiroRepoConfig,
  repoUrlError,
  REQUIRED_CONFIG_FIELDS,
} from "../../tasks/kiro_repo/config.ts";
import { loadKiroRepoConfig } from "../../tasks/kiro_repo/files.ts";

const configDir = new URL("../../kiro-repo-deb/config/", import.meta.url);

async function shipped(env: "local" | "dev" | "prod"): Promise<KiroRepoConfig> {
  return await loadKiroRepoConfig(new URL(`${env}.json`, configDir).pathname, { environment: env });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function problemsOf(change: (config: Record<string, unknown>) => void, base: KiroRepoConfig) {
  const copy = structuredClone(base) as unknown as Record<string, unknown>;
  change(copy);
  return configProblems(copy);
}

Deno.test("the shipped local, dev and prod configurations are valid for their environment", async () => {
  for (const env of ["local", "dev", "prod"] as const) {
    const config = await shipped(env);
    assert.equal(config.environment, env);
    assert.equal(config.package_name, "kiro-repo");
    assert.equal(config.architecture, "all");
    assert.deepEqual(configProblems(config), []);
  }
  const dev = await shipped("dev");
  const prod = await shipped("prod");
  assert.notEqual(dev.repo_url, prod.repo_url, "each environment has its own repository");
  assert.match(prod.repo_url, /^https:\/\//);
});

Deno.test("a configuration without a required field names the field", async () => {
  const base = await shipped("dev");
  for (const field of REQUIRED_CONFIG_FIELDS) {
    const problems = problemsOf((config) => delete config[field], base);
    assert.deepEqual(problems, [`${field} is required`], field);
  }
});

Deno.test("any set of missing required fields is reported field by field", async () => {
  const base = await shipped("prod");
  fc.assert(
    fc.property(fc.subarray([...REQUIRED_CONFIG_FIELDS], { minLength: 1 }), (missing) => {
      const problems = problemsOf((config) => {
        for (const field of missing) delete config[field];
      }, base);
      assert.deepEqual(
        [...problems].sort(),
        missing.map((field) => `${field} is required`).sort(),
      );
    }),
    { numRuns: 150 },
  );
});

Deno.test("a bad repository URL is refused, with what is allowed", async () => {
  const base = await shipped("dev");
  for (
    const url of [
      "apt.kiro.dev",
      "ftp://apt.kiro.dev",
      "https://apt.kiro.dev/",
      "https://apt.kiro.dev/?x=1",
      "https://apt.kiro.dev/it's",
      "https://apt kiro.dev",
      "",
    ]
  ) {
    const problems = problemsOf((config) => config.repo_url = url, base);
    assert.equal(problems.length, 1, `${url}: ${problems.join("; ")}`);
    assert.match(
      problems[0]!,
      new RegExp(
        `^repo_url is not valid \\(got ${
          escape(JSON.stringify(url))
        }\\): must be the repository's public URL`,
      ),
    );
    assert.notEqual(repoUrlError(url), null, url);
  }
  for (
    const url of [
      "https://apt.kiro.dev",
      "http://127.0.0.1:4568/bucket",
      "https://x.cloudfront.net/a/b",
    ]
  ) {
    assert.deepEqual(problemsOf((config) => config.repo_url = url, base), [], url);
    assert.equal(repoUrlError(url), null, url);
  }
});

Deno.test("a version that is not a native Debian version is refused", async () => {
  const base = await shipped("dev");
  for (const version of ["v1.0", "1.0-1", "1.0 beta", "", "1:", "a1", "1.0_2", "1.0:1"]) {
    const problems = problemsOf((config) => config.version = version, base);
    assert.equal(problems.length, 1, `${version}: ${problems.join("; ")}`);
    assert.match(problems[0]!, /^version is not valid \(got .*\): must be a native Debian version/);
    assert.notEqual(kiroRepoVersionError(version), null, version);
  }
  for (const version of ["1.0", "1", "2:1.2~rc1+git3", "1.0.337"]) {
    assert.deepEqual(problemsOf((config) => config.version = version, base), [], version);
    assert.equal(kiroRepoVersionError(version), null, version);
  }
});

Deno.test("an unknown field is refused, with the known fields", async () => {
  const base = await shipped("dev");
  const problems = problemsOf((config) => config.s3_bucket = "kiro-repo-prod", base);
  assert.equal(problems.length, 1);
  assert.match(
    problems[0]!,
    /^s3_bucket is not a known field: remove it \(known fields: package_name, version/,
  );
});

Deno.test("malformed maintainer, description and enumerated fields are refused", async () => {
  const base = await shipped("dev");
  const cases: [string, unknown, RegExp][] = [
    [
      "maintainer",
      "Kiro Team",
      /^maintainer is not valid \(got "Kiro Team"\): must be Name <email>/,
    ],
    ["maintainer", "<support@kiro.dev>", /^maintainer is not valid/],
    ["maintainer", "Kiro Team <support>", /^maintainer is not valid/],
    ["description", "Ends with a period.", /^description is not valid/],
    ["description", "x".repeat(81), /^description is not valid/],
    ["description_long", [], /^description_long is not valid/],
    ["description_long", [" leading space"], /^description_long\[0\] is not valid/],
    ["description_long", ["ok", "trailing space "], /^description_long\[1\] is not valid/],
    ["description_long", [".hidden"], /^description_long\[0\] is not valid/],
    ["architecture", "amd64", /^architecture must be all \(got "amd64"\)/],
    ["package_name", "kiro", /^package_name must be kiro-repo \(got "kiro"\)/],
    [
      "priority",
      "high",
      /^priority must be required or important or standard or optional or extra/,
    ],
    ["environment", "staging", /^environment must be local or dev or prod/],
    ["version", 1.0, /^version must be a string \(got 1\)/],
  ];
  for (const [field, value, expected] of cases) {
    const problems = problemsOf((config) => config[field] = value, base);
    assert.equal(problems.length, 1, `${field}=${JSON.stringify(value)}: ${problems.join("; ")}`);
    assert.match(problems[0]!, expected);
  }
});

Deno.test("parseKiroRepoConfig names the file and lists every problem at once", async () => {
  const base = await shipped("dev");
  const text = JSON.stringify({ ...base, version: "x", repo_url: "nope", extra: 1 });
  let error: KiroRepoConfigError | undefined;
  try {
    parseKiroRepoConfig(text, { source: "kiro-repo-deb/config/dev.json" });
  } catch (caught) {
    if (caught instanceof KiroRepoConfigError) error = caught;
  }
  assert.ok(error !== undefined, "throws KiroRepoConfigError");
  assert.equal(error.problems.length, 3);
  assert.match(error.message, /^Cannot use kiro-repo-deb\/config\/dev\.json:\n {2}- /);
});

Deno.test("a file that is not JSON is one problem with the parser's position", () => {
  assert.throws(
    () => parseKiroRepoConfig('{"version": "1.0",}', { source: "dev.json" }),
    (error: unknown) =>
      error instanceof KiroRepoConfigError &&
      /^Cannot use dev\.json: it is not valid JSON \(.*\)$/.test(error.message),
  );
  assert.throws(
    () => parseKiroRepoConfig("[]", { source: "dev.json" }),
    /Cannot use dev\.json: the configuration must be an object \(got \[\]\)/,
  );
});

Deno.test("a configuration used for another environment is refused", async () => {
  const base = await shipped("dev");
  assert.throws(
    () => parseKiroRepoConfig(JSON.stringify(base), { source: "prod.json", environment: "prod" }),
    /Cannot use prod\.json: environment is "dev" but the file is used for prod: use kiro-repo-deb\/config\/prod\.json/,
  );
});

Deno.test("a missing configuration file is reported with its path", async () => {
  await assert.rejects(
    loadKiroRepoConfig("/nonexistent/kiro-repo/staging.json"),
    /Cannot use \/nonexistent\/kiro-repo\/staging\.json: no such file/,
  );
});
