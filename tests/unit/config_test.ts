import assert from "node:assert/strict";
import fc from "fast-check";
import { stringify } from "yaml";
import {
  ConfigError,
  loadPackageConfigs,
  type PackageConfig,
  parsePackageConfigs,
  withFeedUrl,
} from "../../lambda/sources/config.ts";
import { BUNDLED_CONFIG_FILES } from "../../lambda/sources/bundled_configs.ts";

const KIRO = await Deno.readTextFile("config/packages/kiro.yaml");

function problemsOf(files: { path: string; text: string }[]): string[] {
  try {
    parsePackageConfigs(files);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

Deno.test("the shipped package configs are valid and each names its own file", async () => {
  const loaded = await loadPackageConfigs("config/packages");
  const byName = Object.fromEntries(loaded.map((item) => [item.config.package_name, item]));
  assert.deepEqual(Object.keys(byName).sort(), ["kiro", "kiro-cli", "kiro-repo"]);
  assert.equal(byName.kiro?.config.source.type, "external_download");
  assert.equal(byName["kiro-repo"]?.config.source.type, "build_script");
  assert.equal(byName["kiro-cli"]?.config.source.type, "github_release");
  assert.equal(byName.kiro?.file, "config/packages/kiro.yaml");
});

Deno.test("the configs bundled into the Lambda are exactly the files in config/packages", async () => {
  const names: string[] = [];
  for await (const entry of Deno.readDir("config/packages")) {
    if (/\.ya?ml$/.test(entry.name)) names.push(`config/packages/${entry.name}`);
  }
  assert.deepEqual(BUNDLED_CONFIG_FILES.map((file) => file.path).sort(), names.sort());
  for (const file of BUNDLED_CONFIG_FILES) {
    assert.equal(file.text, await Deno.readTextFile(file.path), `${file.path} is stale`);
  }
});

Deno.test("an unknown source type is refused naming the file, the field and the allowed values", () => {
  const problems = problemsOf([{
    path: "config/packages/kiro.yaml",
    text: KIRO.replace("type: external_download", "type: ftp"),
  }]);
  assert.deepEqual(problems, [
    "Cannot read config/packages/kiro.yaml: source.type must be one of external_download, build_script, github_release, upload",
  ]);
});

Deno.test("a YAML syntax error names the file, line and column", () => {
  const problems = problemsOf([{
    path: "config/packages/kiro.yaml",
    text: "package_name: kiro\nsource: [a,\n  b: c\n",
  }]);
  assert.equal(problems.length, 1);
  assert.match(
    problems[0]!,
    /^Cannot read config\/packages\/kiro\.yaml: invalid YAML at line \d+, column \d+: /,
  );
});

Deno.test("every file is checked before anything runs: all problems of all files are reported", () => {
  const problems = problemsOf([
    {
      path: "config/packages/kiro.yaml",
      text: KIRO.replace("priority: optional", "priority: urgent"),
    },
    {
      path: "config/packages/good.yaml",
      text: KIRO.replace("package_name: kiro", "package_name: good"),
    },
    {
      path: "config/packages/other.yaml",
      text: KIRO.replace("package_name: kiro", "package_name: other").replace(
        /^homepage:.*\n/m,
        "",
      ),
    },
  ]);
  assert.deepEqual(problems, [
    "Cannot read config/packages/kiro.yaml: priority must be one of required, important, standard, optional, extra",
    "Cannot read config/packages/other.yaml: homepage is required",
  ]);
});

Deno.test("a field of another source type is refused, naming the type and what it allows", () => {
  const problems = problemsOf([{
    path: "config/packages/kiro.yaml",
    text: KIRO.replace("  max_size:", "  repository: kiro-dev/kiro\n  max_size:"),
  }]);
  assert.equal(problems.length, 1);
  assert.match(
    problems[0]!,
    /^Cannot read config\/packages\/kiro\.yaml: source\.repository is not allowed for source\.type external_download \(allowed: type, feed_url, /,
  );
});

Deno.test("a source missing its per-type field is refused naming the field and the type", () => {
  const problems = problemsOf([{
    path: "config/packages/kiro.yaml",
    text: KIRO.replace(/^ {2}feed_url:.*\n/m, ""),
  }]);
  assert.deepEqual(problems, [
    "Cannot read config/packages/kiro.yaml: source.feed_url is required for source.type external_download",
  ]);
});

Deno.test("a plain http feed URL to a public host is refused by the schema", () => {
  const problems = problemsOf([{
    path: "config/packages/kiro.yaml",
    text: KIRO.replace(/feed_url: https:/, "feed_url: http:"),
  }]);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /source\.feed_url is not valid .*https URL/);
});

Deno.test("package_name must equal the file name, and two files cannot configure one package", () => {
  assert.deepEqual(problemsOf([{ path: "config/packages/kiro-ide.yaml", text: KIRO }]), [
    'Cannot read config/packages/kiro-ide.yaml: package_name must equal the file name (kiro-ide), got "kiro": rename the file or the package',
  ]);
  assert.deepEqual(
    problemsOf([{ path: "a/kiro.yaml", text: KIRO }, { path: "b/kiro.yml", text: KIRO }]),
    ["Cannot read b/kiro.yml: package_name kiro is already configured in a/kiro.yaml"],
  );
});

Deno.test("a missing or empty config folder is an error naming the folder", async () => {
  await assert.rejects(loadPackageConfigs("/nonexistent/kiro-configs"), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^Cannot read \/nonexistent\/kiro-configs: no such folder/);
    return true;
  });
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(loadPackageConfigs(empty), /holds no package configuration/);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

// --- property tests: required fields are named, YAML round-trips -------------------------

const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const limits = fc.record({
  max_size: fc.integer({ min: 1, max: 5368709120 }),
  timeout_seconds: fc.integer({ min: 1, max: 900 }),
  max_redirects: fc.integer({ min: 0, max: 10 }),
}, { requiredKeys: [] });

const sourceArb = fc.oneof(
  fc.tuple(
    fc.webUrl({ validSchemes: ["https"] }),
    fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: undefined }),
    limits,
  ).map(([feed_url, pin, extra]) => ({
    type: "external_download" as const,
    feed_url,
    ...(pin === undefined ? {} : { certificate_sha256: pin }),
    ...extra,
  })),
  fc.option(word.map((w) => `staging/${w}/`), { nil: undefined }).map((prefix) => ({
    type: "build_script" as const,
    ...(prefix === undefined ? {} : { staging_prefix: prefix }),
  })),
  fc.tuple(word, word, word, limits).map(([owner, repo, asset, extra]) => ({
    type: "github_release" as const,
    repository: `${owner}/${repo}`,
    asset_pattern: `${asset}_*_amd64.deb`,
    ...extra,
  })),
  fc.constant({ type: "upload" as const }),
);

const TOP_REQUIRED = [
  "package_name",
  "description",
  "maintainer",
  "homepage",
  "section",
  "priority",
  "architecture",
  "source",
] as const;

const configArb: fc.Arbitrary<PackageConfig> = fc.record({
  package_name: fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,20}$/),
  description: fc.string({ minLength: 1, maxLength: 80 }).filter((s) => /^\S([^\n]*\S)?$/u.test(s)),
  maintainer: fc.tuple(fc.stringMatching(/^[A-Z][a-z]{1,10}( [A-Z][a-z]{1,10})?$/), word, word)
    .map(([name, user, domain]) => `${name} <${user}@${domain}.dev>`),
  homepage: fc.webUrl({ validSchemes: ["https", "http"] }),
  section: fc.constantFrom("editors", "misc", "devel", "contrib/net"),
  priority: fc.constantFrom("required", "important", "standard", "optional", "extra"),
  architecture: fc.constantFrom("amd64", "arm64", "all", "i386"),
  depends: fc.constantFrom("libc6 (>= 2.31)", "kiro (>= 1.0), curl"),
  enabled: fc.boolean(),
  source: sourceArb,
}, { requiredKeys: [...TOP_REQUIRED] }) as fc.Arbitrary<PackageConfig>;

Deno.test("any valid config round-trips through YAML unchanged", () => {
  fc.assert(
    fc.property(configArb, (config) => {
      const path = `config/packages/${config.package_name}.yaml`;
      const [loaded] = parsePackageConfigs([{ path, text: stringify(config) }]);
      assert.deepEqual(loaded?.config, JSON.parse(JSON.stringify(config)));
      assert.equal(loaded?.file, path);
    }),
    { numRuns: 200 },
  );
});

Deno.test("a config missing a required field is rejected naming that field", () => {
  fc.assert(
    fc.property(configArb, fc.constantFrom(...TOP_REQUIRED, "source.type"), (config, field) => {
      const copy = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
      if (field === "source.type") delete copy.source!.type;
      else delete copy[field];
      const path = `config/packages/${config.package_name}.yaml`;
      const problems = problemsOf([{ path, text: stringify(copy) }]);
      assert.ok(
        problems.includes(`Cannot read ${path}: ${field} is required`),
        `expected "${field} is required" in ${JSON.stringify(problems)}`,
      );
    }),
    { numRuns: 200 },
  );
});

Deno.test("a config missing its source type's required field names it and the type", () => {
  const perType: Record<string, string[]> = {
    external_download: ["feed_url"],
    github_release: ["repository", "asset_pattern"],
  };
  fc.assert(
    fc.property(
      configArb.filter((config) => config.source.type in perType),
      fc.nat(),
      (config, pick) => {
        const fields = perType[config.source.type]!;
        const field = fields[pick % fields.length]!;
        const copy = structuredClone(config) as unknown as { source: Record<string, unknown> };
        delete copy.source[field];
        const path = `config/packages/${config.package_name}.yaml`;
        assert.ok(
          problemsOf([{ path, text: stringify(copy) }]).includes(
            `Cannot read ${path}: source.${field} is required for source.type ${config.source.type}`,
          ),
        );
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("--feed-url points every enabled external_download source at the URL and nothing else", async () => {
  const configs = await loadPackageConfigs("config/packages");
  const url = "http://127.0.0.1:8765/stable/metadata-linux-x64-deb-stable.json";
  const pointed = withFeedUrl(configs, url);
  for (const [index, { config }] of pointed.entries()) {
    const before = configs[index]!.config;
    if (before.source.type === "external_download" && before.enabled !== false) {
      assert.equal((config.source as { feed_url: string }).feed_url, url);
    } else {
      assert.equal(config, before);
    }
  }
  assert.ok(pointed.some(({ config }) => config.package_name === "kiro"));
  assert.notEqual(
    (configs.find(({ config }) => config.package_name === "kiro")!.config.source as {
      feed_url: string;
    }).feed_url,
    url,
    "the loaded configurations are not changed",
  );
  const noFeed = configs.filter(({ config }) => config.source.type !== "external_download");
  assert.throws(() => withFeedUrl(noFeed, url), ConfigError);
});
