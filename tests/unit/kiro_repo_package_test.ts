/**
 * The kiro-repo package as built by our own writer: contents, determinism,
 * what dpkg-deb and lintian say about it, version builds, refused inputs.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { readDebBytes } from "../../lambda/deb/deb_reader.ts";
import { ChangelogError } from "../../tasks/kiro_repo/changelog.ts";
import { configProblems, type KiroRepoConfig } from "../../tasks/kiro_repo/config.ts";
import { compareVersions } from "../../lambda/domain/version.ts";
import { loadKiroRepoConfig, loadKiroRepoTemplates } from "../../tasks/kiro_repo/files.ts";
import {
  buildKiroRepo,
  KIRO_REPO_PATHS,
  KiroRepoBuildError,
  type KiroRepoBuildInputs,
} from "../../tasks/kiro_repo/package.ts";
import { TemplateError } from "../../tasks/kiro_repo/templates.ts";
import { generateSigningKey, publicKeyring, readSigningKeys } from "../../lambda/signing/keys.ts";
import { missingTools } from "../support/tools.ts";
import { runCommand } from "../../tasks/lib/command.ts";

const root = new URL("../../kiro-repo-deb/", import.meta.url).pathname;
const config: KiroRepoConfig = await loadKiroRepoConfig(join(root, "config/prod.json"));
const templates = await loadKiroRepoTemplates(join(root, "templates"));
const generated = await Promise.all([
  generateSigningKey({ name: "Kiro Test", email: "test@kiro.dev", type: "ed25519" }),
  generateSigningKey({ name: "Kiro Next", email: "next@kiro.dev", type: "rsa3072" }),
]);
const keys = await readSigningKeys(generated.map((key) => key.armoredPrivateKey));
const keyring = publicKeyring(keys);
const oneKeyring = publicKeyring(keys.slice(0, 1));
const REPO_URL = "https://apt.kiro.dev";

function inputs(overrides: Partial<KiroRepoBuildInputs> = {}): KiroRepoBuildInputs {
  return { config, repoUrl: REPO_URL, templates, keyring, ...overrides };
}

async function inTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-repo-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("two builds from the same inputs are byte-identical", async () => {
  const first = await buildKiroRepo(inputs());
  const second = await buildKiroRepo(inputs({ templates: { ...templates } }));
  assert.deepEqual(second.bytes, first.bytes);
  assert.equal(first.fileName, "kiro-repo_1.0_all.deb");
  // Any input change changes the bytes.
  const otherUrl = await buildKiroRepo(inputs({ repoUrl: "https://apt-dev.kiro.dev" }));
  const otherKeys = await buildKiroRepo(inputs({ keyring: oneKeyring }));
  assert.notDeepEqual(otherUrl.bytes, first.bytes);
  assert.notDeepEqual(otherKeys.bytes, first.bytes);
});

Deno.test("kiro-repo installs the deb822 source, the keyring, copyright, changelog and lintian overrides", async () => {
  const pkg = await buildKiroRepo(inputs({ repoUrl: `${REPO_URL}/` }));
  const text = (path: string) => new TextDecoder().decode(pkg.files[path]);
  assert.deepEqual(Object.keys(pkg.files).sort(), Object.values(KIRO_REPO_PATHS).sort());
  const sources = text(KIRO_REPO_PATHS.sources);
  assert.match(
    sources,
    /\nTypes: deb\nURIs: https:\/\/apt\.kiro\.dev\nSuites: stable\nComponents: main\nSigned-By: \/usr\/share\/keyrings\/kiro-archive-keyring\.pgp\n\n/,
  );
  assert.match(
    sources,
    /\nTypes: deb\nURIs: https:\/\/apt\.kiro\.dev\nSuites: beta\nComponents: main\nSigned-By: \/usr\/share\/keyrings\/kiro-archive-keyring\.pgp\nEnabled: no\n$/,
    "the beta channel is present but disabled",
  );
  assert.ok(!/[ \t]$/m.test(sources), "no trailing white space");
  assert.deepEqual(pkg.files[KIRO_REPO_PATHS.keyring], keyring);
  assert.deepEqual(pkg.keyFingerprints, keys.map((key) => key.fingerprint));
  assert.deepEqual(pkg.conffiles, [KIRO_REPO_PATHS.sources]);
  const changelog = gunzipSync(pkg.files[KIRO_REPO_PATHS.changelog]!).toString();
  assert.equal(changelog, templates.changelog);
  assert.match(
    text(KIRO_REPO_PATHS.copyright),
    /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/\n/,
  );
  assert.match(text(KIRO_REPO_PATHS.copyright), /\nCopyright: 2026 Amazon\.com/);
  assert.match(
    text(KIRO_REPO_PATHS.lintianOverrides),
    /^# .*\n(#.*\n)*kiro-repo: package-installs-apt-sources /,
  );
  for (const script of Object.values(pkg.scripts)) {
    assert.ok(!/@[A-Z_]+@/.test(script), "every placeholder rendered");
    assert.match(
      script,
      /KIRO_REPO_URL='https:\/\/apt\.kiro\.dev'|SOURCES="\$\{DPKG_ROOT:-\}\/etc\/apt\/sources\.list\.d\/kiro\.sources"/,
    );
  }
  assert.equal(pkg.buildDate.toISOString(), "2026-11-22T12:00:00.000Z");

  const info = await readDebBytes(pkg.bytes, { name: pkg.fileName });
  assert.deepEqual(info.control, pkg.control);
  assert.equal(info.control.Package, "kiro-repo");
  assert.equal(info.control.Architecture, "all");
  assert.equal(info.control.Maintainer, "Kiro Team <support@kiro.dev>");
  assert.match(info.control.Description ?? "", /^Kiro IDE repository configuration\n This package/);
});

Deno.test("dpkg-deb --info and --contents show the package as built", {
  ignore: missingTools(["dpkg-deb"]),
}, async () => {
  const pkg = await buildKiroRepo(inputs());
  await inTemp(async (dir) => {
    const file = join(dir, pkg.fileName);
    await Deno.writeFile(file, pkg.bytes);
    const info = await runCommand("dpkg-deb", ["--info", file]);
    assert.equal(info.code, 0, info.stderr);
    for (
      const expected of [
        /^ new Debian package, version 2\.0\.$/m,
        /^ +\d+ bytes, +1 lines +conffiles *$/m,
        /^ +\d+ bytes, +\d+ lines +\* +postinst +#!\/bin\/sh$/m,
        /^ +\d+ bytes, +\d+ lines +\* +preinst +#!\/bin\/sh$/m,
        /^ +\d+ bytes, +\d+ lines +\* +prerm +#!\/bin\/sh$/m,
        /^ +\d+ bytes, +\d+ lines +\* +postrm +#!\/bin\/sh$/m,
        /^ Package: kiro-repo$/m,
        /^ Version: 1\.0$/m,
        /^ Architecture: all$/m,
        /^ Section: misc$/m,
        /^ Priority: optional$/m,
        /^ Homepage: https:\/\/kiro\.dev$/m,
        /^ Installed-Size: \d+$/m,
      ]
    ) assert.match(info.stdout, expected);
    const conffiles = await runCommand("dpkg-deb", ["--info", file, "conffiles"]);
    assert.equal(conffiles.stdout, "/etc/apt/sources.list.d/kiro.sources\n");

    const contents = await runCommand("dpkg-deb", ["--contents", file]);
    assert.equal(contents.code, 0, contents.stderr);
    const listed = contents.stdout.trim().split("\n").map((line) => {
      const [mode, owner, size, date, time, path] = line.split(/\s+/);
      return { mode, owner, size: Number(size), when: `${date} ${time}`, path };
    });
    assert.ok(listed.every((entry) => entry.owner === "root/root"));
    assert.ok(listed.every((entry) => entry.when === "2026-11-22 12:00"));
    const files = listed.filter((entry) => entry.mode?.startsWith("-"));
    assert.deepEqual(
      files.map((entry) => [entry.path, entry.mode, entry.size]),
      Object.values(KIRO_REPO_PATHS).sort().map((path) => [
        `.${path}`,
        "-rw-r--r--",
        pkg.files[path]!.byteLength,
      ]),
    );
    // dpkg-deb reads the keyring back byte for byte.
    const extracted = join(dir, "root");
    const unpacked = await runCommand("dpkg-deb", ["-x", file, extracted]);
    assert.equal(unpacked.code, 0, unpacked.stderr);
    assert.deepEqual(await Deno.readFile(join(extracted, KIRO_REPO_PATHS.keyring)), keyring);
  });
});

Deno.test(
  "lintian reports nothing but the overridden package-installs-apt-sources, with its reason",
  {
    ignore: missingTools(["lintian"]),
  },
  async () => {
    const pkg = await buildKiroRepo(inputs({ version: "1.1" }));
    await inTemp(async (dir) => {
      const file = join(dir, pkg.fileName);
      await Deno.writeFile(file, pkg.bytes);
      const flags = ["--display-info", "--display-experimental", "--pedantic"];
      const result = await runCommand("lintian", [
        ...flags,
        "--fail-on",
        "error,warning,info,pedantic,experimental",
        file,
      ]);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      assert.deepEqual(result.stdout.split("\n").filter((line) => /^[A-Z]: /.test(line)), []);
      // The override is used, and lintian shows its reason (the comment above it).
      const shown = await runCommand("lintian", [...flags, "--show-overrides", file]);
      const tags = shown.stdout.split("\n").filter((line) => /^[A-Z]: /.test(line));
      assert.deepEqual(tags.filter((line) => line.startsWith("O: ")), [
        "O: kiro-repo: package-installs-apt-sources [etc/apt/sources.list.d/kiro.sources]",
      ]);
      assert.ok(
        tags.some((line) => line.startsWith("N: Installing an APT source is the whole purpose")),
        shown.stdout,
      );
      assert.deepEqual(tags.filter((line) => !/^[ON]: /.test(line)), []);
    });
  },
);

Deno.test("a newer --version gets a changelog entry dated after the newest one; an older one is refused", async () => {
  const pkg = await buildKiroRepo(inputs({ version: "1.1" }));
  assert.equal(pkg.version, "1.1");
  assert.equal(pkg.fileName, "kiro-repo_1.1_all.deb");
  assert.ok(pkg.changelogAdded);
  assert.equal(pkg.buildDate.toISOString(), "2026-11-22T12:00:01.000Z");
  const changelog = gunzipSync(pkg.files[KIRO_REPO_PATHS.changelog]!).toString();
  assert.ok(changelog.startsWith(
    "kiro-repo (1.1) stable; urgency=medium\n\n  * Build of 1.1 for the prod repository.\n\n" +
      " -- Kiro Team <support@kiro.dev>  Sun, 22 Nov 2026 12:00:01 +0000\n\n",
  ));
  assert.ok(changelog.endsWith(templates.changelog));
  assert.deepEqual((await buildKiroRepo(inputs({ version: "1.1" }))).bytes, pkg.bytes);
  for (const version of ["0.9", "1.0~rc1"]) {
    await assert.rejects(
      buildKiroRepo(inputs({ version })),
      (error: unknown) =>
        error instanceof ChangelogError &&
        error.message.includes(`Cannot build kiro-repo ${version}: the newest entry of `) &&
        error.message.includes("is 1.0; build a version newer than 1.0"),
    );
  }
  await assert.rejects(buildKiroRepo(inputs({ version: "1.1-1" })), KiroRepoBuildError);
});

Deno.test("a keyring that is armored, private, empty or not OpenPGP is refused", async () => {
  const armored = new TextEncoder().encode(generated[0]!.armoredPublicKey);
  await assert.rejects(
    buildKiroRepo(inputs({ keyring: armored })),
    /it is ASCII-armored.*gpg --dearmor/,
  );
  const privateKey = keys[0]!.privateKey.write();
  await assert.rejects(buildKiroRepo(inputs({ keyring: privateKey })), /it holds a private key/);
  await assert.rejects(buildKiroRepo(inputs({ keyring: new Uint8Array() })), KiroRepoBuildError);
  await assert.rejects(
    buildKiroRepo(inputs({ keyring: new TextEncoder().encode("not a key") })),
    /Cannot use the keyring: it/,
  );
});

Deno.test("a repository URL that could break the source file or the scripts is refused", async () => {
  for (
    const url of [
      "https://apt.kiro.dev/it's",
      "https://apt.kiro.dev/$(reboot)",
      "ftp://apt.kiro.dev",
      "https://a b",
    ]
  ) {
    await assert.rejects(buildKiroRepo(inputs({ repoUrl: url })), KiroRepoBuildError, url);
  }
});

Deno.test("a template with an unknown placeholder or a broken control paragraph is refused", async () => {
  await assert.rejects(
    buildKiroRepo(
      inputs({ templates: { ...templates, postinst: `${templates.postinst}\n# @REPO_URLL@\n` } }),
    ),
    (error: unknown) =>
      error instanceof TemplateError &&
      error.message.startsWith(
        "Cannot render the template templates/postinst: it uses @REPO_URLL@",
      ),
  );
  await assert.rejects(
    buildKiroRepo(
      inputs({ templates: { ...templates, control: `${templates.control}\nPackage: x\n` } }),
    ),
    /Cannot build kiro-repo: .*templates\/control/,
  );
});

Deno.test("for any valid configuration the build is deterministic and says what the configuration says", async () => {
  // No "??--" labels: those are reserved for IDNA ("xn--0" is not valid punycode, so
  // "http://xn--0.a0" is not a URL and the configuration rightly refuses it).
  const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/)
    .filter((text) => text.slice(2, 4) !== "--");
  const url = fc.tuple(
    fc.constantFrom("http", "https"),
    fc.array(label, { minLength: 1, maxLength: 3 }),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    fc.array(fc.stringMatching(/^[A-Za-z0-9._~+-]{1,12}$/), { maxLength: 3 }),
  ).map(([scheme, labels, port, path]) =>
    `${scheme}://${labels.join(".")}${port === undefined ? "" : `:${port}`}${
      path.map((part) => `/${part}`).join("")
    }`
  );
  const version = fc.tuple(
    fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
    fc.integer({ min: 1, max: 99 }),
    fc.integer({ min: 0, max: 999 }),
    fc.stringMatching(/^([~+][a-z0-9]{1,6})?$/),
  ).map(([epoch, major, minor, suffix]) =>
    `${epoch === undefined ? "" : `${epoch}:`}${major}.${minor}${suffix}`
  ).filter((value) => compareVersions(value, "1.0") >= 0);
  const line = fc.oneof(
    fc.constant(""),
    fc.stringMatching(/^[A-Za-z0-9(]([A-Za-z0-9 ,()/.'-]{0,70}[A-Za-z0-9).])?$/),
  );
  await fc.assert(
    fc.asyncProperty(
      url,
      version,
      fc.array(line, { minLength: 1, maxLength: 4 }),
      async (repoUrl, v, long) => {
        const candidate = { ...config, repo_url: repoUrl, version: v, description_long: long };
        assert.deepEqual(configProblems(candidate), [], JSON.stringify(candidate));
        const first = await buildKiroRepo(inputs({ config: candidate, repoUrl }));
        const second = await buildKiroRepo(inputs({ config: structuredClone(candidate), repoUrl }));
        assert.deepEqual(second.bytes, first.bytes);
        const info = await readDebBytes(first.bytes, { name: first.fileName });
        assert.equal(info.control.Version, v);
        assert.equal(
          info.control.Description,
          `${config.description}\n${
            long.map((text) => text === "" ? " ." : ` ${text}`).join("\n")
          }`,
        );
        const sources = new TextDecoder().decode(first.files[KIRO_REPO_PATHS.sources]);
        assert.ok(sources.includes(`\nURIs: ${repoUrl}\n`), sources);
        const postinst = first.scripts.postinst;
        assert.ok(postinst.includes(`KIRO_REPO_URL='${repoUrl}'`));
      },
    ),
    { numRuns: 100 },
  );
});
