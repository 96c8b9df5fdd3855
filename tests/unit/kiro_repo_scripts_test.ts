/**
 * kiro-repo's maintainer scripts, run by `sh` (dash on Debian) against a
 * temp folder as `$DPKG_ROOT`: other entries for the same URL are disabled
 * (one-line and deb822), nothing else is touched, runs are idempotent, and
 * remove / reinstall / purge move the source as documented.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadKiroRepoConfig, loadKiroRepoTemplates } from "../../tasks/kiro_repo/files.ts";
import { buildKiroRepo, type KiroRepoPackage } from "../../tasks/kiro_repo/package.ts";
import { generateSigningKey, publicKeyring, readSigningKeys } from "../../lambda/signing/keys.ts";

const root = new URL("../../kiro-repo-deb/", import.meta.url).pathname;
const key = await generateSigningKey({ name: "Kiro Test", email: "t@kiro.dev", type: "ed25519" });
const pkg: KiroRepoPackage = await buildKiroRepo({
  config: await loadKiroRepoConfig(join(root, "config/prod.json")),
  templates: await loadKiroRepoTemplates(join(root, "templates")),
  repoUrl: "https://apt.kiro.dev",
  keyring: publicKeyring(await readSigningKeys(key.armoredPrivateKey)),
});
const NOTE =
  "Disabled by kiro-repo: this repository is configured in /etc/apt/sources.list.d/kiro.sources";

type Script = keyof KiroRepoPackage["scripts"];

interface Fake {
  dir: string;
  run(script: Script, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  write(path: string, text: string, mode?: number): Promise<void>;
  read(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
}

async function withRoot(fn: (fake: Fake) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-repo-scripts-" });
  await Deno.mkdir(join(dir, "etc/apt/sources.list.d"), { recursive: true });
  const fake: Fake = {
    dir,
    async run(script, ...args) {
      const file = join(dir, `${script}.sh`);
      await Deno.writeTextFile(file, pkg.scripts[script]);
      const output = await new Deno.Command("sh", {
        args: [file, ...args],
        env: { DPKG_ROOT: dir, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      await Deno.remove(file);
      const decoder = new TextDecoder();
      return {
        code: output.code,
        stdout: decoder.decode(output.stdout),
        stderr: decoder.decode(output.stderr),
      };
    },
    async write(path, text, mode = 0o644) {
      await Deno.writeTextFile(join(dir, path), text);
      await Deno.chmod(join(dir, path), mode);
    },
    read: (path) => Deno.readTextFile(join(dir, path)),
    async exists(path) {
      try {
        await Deno.lstat(join(dir, path));
        return true;
      } catch {
        return false;
      }
    },
  };
  try {
    await fn(fake);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listing(fake: Fake): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(fake.dir, "etc/apt/sources.list.d"))) {
    names.push(entry.name);
  }
  return names.sort();
}

Deno.test("every maintainer script is valid POSIX sh and refuses an unknown action", async () => {
  await withRoot(async (fake) => {
    for (const script of ["preinst", "postinst", "prerm", "postrm"] as const) {
      const file = join(fake.dir, `${script}.sh`);
      await Deno.writeTextFile(file, pkg.scripts[script]);
      const syntax = await new Deno.Command("sh", { args: ["-n", file] }).output();
      assert.ok(syntax.success, `${script}: sh -n`);
      const result = await fake.run(script, "bogus");
      assert.equal(result.code, 1, script);
      assert.match(result.stderr, new RegExp(`^${script} called with unknown argument 'bogus'`));
    }
  });
});

Deno.test("postinst configure comments out one-line entries for the same URL and nothing else", async () => {
  await withRoot(async (fake) => {
    const handMade = [
      "# my Kiro repository",
      "deb [signed-by=/etc/apt/keyrings/kiro.gpg] https://apt.kiro.dev stable main",
      "  deb-src [ arch=amd64 trusted=yes ] https://apt.kiro.dev/ stable main",
      "deb https://apt.kiro.dev.example.org stable main",
      "deb https://apt.kiro.dev/other stable main",
      "",
    ].join("\n");
    await fake.write("etc/apt/sources.list.d/kiro.list", handMade, 0o600);
    const system = "deb http://deb.debian.org/debian bookworm main\n" +
      "deb https://apt.kiro.dev// stable main"; // no final newline
    await fake.write("etc/apt/sources.list", system);
    const other = "deb https://download.example.com/apt stable main\n";
    await fake.write("etc/apt/sources.list.d/other.list", other);
    const stat = await Deno.stat(join(fake.dir, "etc/apt/sources.list.d/other.list"));

    const result = await fake.run("postinst", "configure", "");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      await fake.read("etc/apt/sources.list.d/kiro.list"),
      [
        "# my Kiro repository",
        `# ${NOTE}:`,
        "# deb [signed-by=/etc/apt/keyrings/kiro.gpg] https://apt.kiro.dev stable main",
        `# ${NOTE}:`,
        "#   deb-src [ arch=amd64 trusted=yes ] https://apt.kiro.dev/ stable main",
        "deb https://apt.kiro.dev.example.org stable main",
        "deb https://apt.kiro.dev/other stable main",
        "",
      ].join("\n"),
    );
    assert.equal(
      await fake.read("etc/apt/sources.list"),
      `deb http://deb.debian.org/debian bookworm main\n# ${NOTE}:\n# deb https://apt.kiro.dev// stable main\n`,
    );
    assert.equal(await fake.read("etc/apt/sources.list.d/other.list"), other);
    const after = await Deno.stat(join(fake.dir, "etc/apt/sources.list.d/other.list"));
    assert.equal(
      after.mtime?.getTime(),
      stat.mtime?.getTime(),
      "an unrelated file is not rewritten",
    );
    assert.equal(
      (await Deno.stat(join(fake.dir, "etc/apt/sources.list.d/kiro.list"))).mode! & 0o777,
      0o600,
      "the rewritten file keeps its mode",
    );
    assert.match(
      result.stdout,
      /kiro-repo: disabled the entry for https:\/\/apt\.kiro\.dev in \/etc\/apt\/sources\.list\.d\/kiro\.list/,
    );
    assert.match(result.stdout, /in \/etc\/apt\/sources\.list\n/);
    assert.deepEqual(await listing(fake), ["kiro.list", "other.list"], "no temp file left");

    // A second configure (an upgrade) changes nothing.
    const before = await fake.read("etc/apt/sources.list.d/kiro.list");
    const again = await fake.run("postinst", "configure", "1.0");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "");
    assert.equal(await fake.read("etc/apt/sources.list.d/kiro.list"), before);
  });
});

Deno.test("postinst configure disables deb822 paragraphs for the same URL, and drops the URL from shared ones", async () => {
  await withRoot(async (fake) => {
    const text = [
      "# Hand-made",
      "Types: deb",
      "URIs: https://apt.kiro.dev/",
      "Suites: stable",
      "Components: main",
      "Enabled: yes",
      "Signed-By: /etc/apt/keyrings/kiro.gpg",
      "",
      "Types: deb",
      "uris: https://mirror.example.com/debian",
      " https://apt.kiro.dev",
      "Suites: stable",
      "Components: main",
      "",
      "Types: deb",
      "URIs: https://download.example.com/apt",
      "Suites: stable",
      "Components: main",
    ].join("\n");
    await fake.write("etc/apt/sources.list.d/vendor.sources", text);
    // The package's own file is never touched.
    await fake.write(
      "etc/apt/sources.list.d/kiro.sources",
      new TextDecoder().decode(pkg.files["/etc/apt/sources.list.d/kiro.sources"]),
    );

    const result = await fake.run("postinst", "configure", "");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      await fake.read("etc/apt/sources.list.d/vendor.sources"),
      [
        `# ${NOTE}`,
        "Enabled: no",
        "# Hand-made",
        "Types: deb",
        "URIs: https://apt.kiro.dev/",
        "Suites: stable",
        "Components: main",
        "Signed-By: /etc/apt/keyrings/kiro.gpg",
        "",
        `# ${NOTE}`,
        "Types: deb",
        "URIs: https://mirror.example.com/debian",
        "Suites: stable",
        "Components: main",
        "",
        "Types: deb",
        "URIs: https://download.example.com/apt",
        "Suites: stable",
        "Components: main",
        "",
      ].join("\n"),
    );
    assert.equal(
      await fake.read("etc/apt/sources.list.d/kiro.sources"),
      new TextDecoder().decode(pkg.files["/etc/apt/sources.list.d/kiro.sources"]),
    );
    const before = await fake.read("etc/apt/sources.list.d/vendor.sources");
    const again = await fake.run("postinst", "configure", "1.0");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await fake.read("etc/apt/sources.list.d/vendor.sources"), before, "idempotent");
  });
});

Deno.test("prerm remove disables the source, a reinstall enables it again, purge deletes it", async () => {
  await withRoot(async (fake) => {
    const sources = "etc/apt/sources.list.d/kiro.sources";
    await fake.write(sources, "Types: deb\n");
    assert.equal((await fake.run("prerm", "remove")).code, 0);
    assert.deepEqual(await listing(fake), ["kiro.sources.disabled"]);
    // A failed removal puts it back.
    assert.equal((await fake.run("postinst", "abort-remove")).code, 0);
    assert.deepEqual(await listing(fake), ["kiro.sources"]);

    assert.equal((await fake.run("prerm", "remove")).code, 0);
    // Reinstall from the "config-files" state: preinst install OLD-VERSION.
    assert.equal((await fake.run("preinst", "install", "1.0")).code, 0);
    assert.deepEqual(await listing(fake), ["kiro.sources"]);
    assert.equal(await fake.read(sources), "Types: deb\n");

    assert.equal((await fake.run("prerm", "remove")).code, 0);
    assert.equal((await fake.run("postrm", "remove")).code, 0);
    assert.equal((await fake.run("postrm", "purge")).code, 0);
    assert.deepEqual(await listing(fake), []);
    // Upgrades leave the source alone.
    await fake.write(sources, "Types: deb\n");
    for (
      const [script, action] of [["prerm", "upgrade"], ["preinst", "upgrade"], [
        "postrm",
        "upgrade",
      ]] as const
    ) {
      assert.equal((await fake.run(script, action, "1.0")).code, 0);
    }
    assert.deepEqual(await listing(fake), ["kiro.sources"]);
  });
});

Deno.test("a first install keeps a hand-made kiro.sources as kiro.sources.save, and an aborted one puts it back", async () => {
  await withRoot(async (fake) => {
    await fake.write("etc/apt/sources.list.d/kiro.sources", "Types: deb\nURIs: https://old\n");
    const result = await fake.run("preinst", "install");
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /kept the existing \/etc\/apt\/sources\.list\.d\/kiro\.sources as .*\.save/,
    );
    assert.deepEqual(await listing(fake), ["kiro.sources.save"]);
    assert.equal((await fake.run("postrm", "abort-install")).code, 0);
    assert.deepEqual(await listing(fake), ["kiro.sources"]);
    assert.equal(
      await fake.read("etc/apt/sources.list.d/kiro.sources"),
      "Types: deb\nURIs: https://old\n",
    );
  });
});
