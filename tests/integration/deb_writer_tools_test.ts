import assert from "node:assert/strict";
import { buildDeb, type BuildDebOptions, gzip } from "../../tasks/lib/deb_writer.ts";
import { missingTools } from "../support/tools.ts";
import { commandOutput, runCommand } from "../../tasks/lib/command.ts";

const encoder = new TextEncoder();

const CHANGELOG = "kiro-sample (1.2.3) stable; urgency=medium\n\n  * Initial release.\n\n" +
  " -- Kiro Team <team@kiro.dev>  Tue, 14 Nov 2023 22:13:20 +0000\n";
const COPYRIGHT = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n" +
  "Upstream-Name: kiro-sample\n\nFiles: *\nCopyright: 2025 Kiro\nLicense: MIT\n" +
  " Permission is hereby granted, free of charge, to any person obtaining a copy.\n";

/** A reasonably complete package, as kiro-repo will be. */
const SAMPLE: BuildDebOptions = {
  control: {
    Package: "kiro-sample",
    Version: "1:1.2.3~rc1+b1",
    Architecture: "all",
    Maintainer: "Kiro Team <team@kiro.dev>",
    Depends: "apt (>= 2.0)",
    Section: "misc",
    Priority: "optional",
    Homepage: "https://kiro.dev",
    Description: "sample package for the deb writer tests\n" +
      " This package exists to check that the writer produces a package\n that lintian accepts.\n .\n" +
      " It has a conffile, maintainer scripts and a symlink.",
  },
  files: [
    { path: "/etc/kiro-sample/sample.conf", data: "# sample configuration\nkey=value\n" },
    { path: "/usr/share/doc/kiro-sample/copyright", data: COPYRIGHT },
    { path: "/usr/share/doc/kiro-sample/changelog.gz", data: gzip(encoder.encode(CHANGELOG)) },
    { path: "/usr/share/kiro-sample/sample.json", data: '{"sample": true}\n' },
    { path: "/usr/share/kiro-sample/current.json", type: "symlink", target: "sample.json" },
    { path: "/usr/libexec/kiro-sample/helper", data: "#!/bin/sh\necho helper\n", mode: 0o755 },
  ],
  conffiles: ["/etc/kiro-sample/sample.conf"],
  maintainerScripts: {
    postinst:
      '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  echo configured >/dev/null\nfi\n',
    postrm:
      '#!/bin/sh\nset -e\nif [ "$1" = purge ]; then\n  rm -f /etc/kiro-sample/local.conf\nfi\n',
  },
  mtime: 1700000000,
};

async function withDeb(fn: (deb: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "deb-writer-" });
  try {
    const deb = `${dir}/kiro-sample_1.2.3~rc1+b1_all.deb`;
    await Deno.writeFile(deb, buildDeb(SAMPLE));
    await fn(deb, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "dpkg-deb --info reads the control file buildDeb writes",
  ignore: missingTools(["dpkg-deb"]),
  async fn() {
    await withDeb(async (deb) => {
      const info = await commandOutput("dpkg-deb", ["--info", deb]);
      assert.match(info, /^ new Debian package, version 2\.0\.$/m);
      assert.match(info, /^ +\d+ bytes, +\d+ lines +conffiles *$/m);
      assert.match(info, /^ +\d+ bytes, +\d+ lines +\* +postinst +#!\/bin\/sh$/m);
      assert.match(info, /^ +\d+ bytes, +\d+ lines +\* +postrm +#!\/bin\/sh$/m);
      assert.equal(
        await commandOutput("dpkg-deb", ["--field", deb, "Version"]),
        "1:1.2.3~rc1+b1\n",
      );
      // dirs: ./ etc etc/kiro-sample usr usr/libexec usr/libexec/kiro-sample usr/share usr/share/doc
      // usr/share/doc/kiro-sample usr/share/kiro-sample = 10; files 1 each = 5; symlink 1.
      assert.equal(await commandOutput("dpkg-deb", ["--field", deb, "Installed-Size"]), "16\n");
      assert.equal(
        await commandOutput("dpkg-deb", ["--field", deb, "Description"]),
        `${SAMPLE.control.Description}\n`,
      );
      assert.equal(
        await commandOutput("dpkg-deb", ["--info", deb, "conffiles"]),
        "/etc/kiro-sample/sample.conf\n",
      );
    });
  },
});

Deno.test({
  name: "dpkg-deb --contents lists every directory and file owned by root, sorted",
  ignore: missingTools(["dpkg-deb"]),
  async fn() {
    await withDeb(async (deb) => {
      const lines = (await commandOutput("dpkg-deb", ["--contents", deb])).trim().split("\n")
        .map((line) => line.split(/\s+/))
        .map((cols) => [cols[0], cols[1], cols.slice(5).join(" ")]);
      assert.deepEqual(lines, [
        ["drwxr-xr-x", "root/root", "./"],
        ["drwxr-xr-x", "root/root", "./etc/"],
        ["drwxr-xr-x", "root/root", "./etc/kiro-sample/"],
        ["-rw-r--r--", "root/root", "./etc/kiro-sample/sample.conf"],
        ["drwxr-xr-x", "root/root", "./usr/"],
        ["drwxr-xr-x", "root/root", "./usr/libexec/"],
        ["drwxr-xr-x", "root/root", "./usr/libexec/kiro-sample/"],
        ["-rwxr-xr-x", "root/root", "./usr/libexec/kiro-sample/helper"],
        ["drwxr-xr-x", "root/root", "./usr/share/"],
        ["drwxr-xr-x", "root/root", "./usr/share/doc/"],
        ["drwxr-xr-x", "root/root", "./usr/share/doc/kiro-sample/"],
        ["-rw-r--r--", "root/root", "./usr/share/doc/kiro-sample/changelog.gz"],
        ["-rw-r--r--", "root/root", "./usr/share/doc/kiro-sample/copyright"],
        ["drwxr-xr-x", "root/root", "./usr/share/kiro-sample/"],
        ["lrwxrwxrwx", "root/root", "./usr/share/kiro-sample/current.json -> sample.json"],
        ["-rw-r--r--", "root/root", "./usr/share/kiro-sample/sample.json"],
      ]);
    });
  },
});

Deno.test({
  name: "dpkg-deb -x extracts the files with their contents and modes, and md5sums checks out",
  ignore: missingTools(["dpkg-deb", "md5sum"]),
  async fn() {
    await withDeb(async (deb, dir) => {
      await commandOutput("dpkg-deb", ["-x", deb, `${dir}/root`]);
      for (const file of SAMPLE.files) {
        const path = `${dir}/root${file.path}`;
        if (file.type === "symlink") {
          assert.equal(await Deno.readLink(path), file.target);
          continue;
        }
        const data = file.data ?? "";
        assert.deepEqual(
          await Deno.readFile(path),
          typeof data === "string" ? encoder.encode(data) : data,
        );
        assert.equal((await Deno.stat(path)).mode! & 0o7777, file.mode ?? 0o644, file.path);
      }
      await commandOutput("dpkg-deb", ["--control", deb, `${dir}/control`]);
      const check = await runCommand("md5sum", ["--check", "--strict", `${dir}/control/md5sums`], {
        cwd: `${dir}/root`,
      });
      assert.ok(check.success, check.stdout);
      assert.equal(
        check.stdout.trim().split("\n").length,
        4,
        "every file but the conffile",
      );
      assert.equal((await Deno.stat(`${dir}/control/postinst`)).mode! & 0o777, 0o755);
    });
  },
});

Deno.test({
  name: "lintian finds nothing wrong with a reasonably complete package built by buildDeb",
  ignore: missingTools(["lintian"]),
  async fn() {
    await withDeb(async (deb) => {
      const { stdout, stderr } = await runCommand("lintian", [
        "--no-cfg",
        "--info",
        "--display-experimental",
        "--pedantic",
        "--tag-display-limit",
        "0",
        deb,
      ]);
      const tags = stdout.trim().split("\n").filter((line) => /^[EWIPX]: /.test(line));
      // Tags accepted, with the reason:
      const accepted: Record<string, string> = {};
      const unexpected = tags.filter((line) =>
        !Object.keys(accepted).some((tag) => line.includes(` ${tag}`))
      );
      assert.deepEqual(unexpected, [], stderr);
    });
  },
});

Deno.test({
  name: "buildDeb gives the same bytes as a second build in another process",
  async fn() {
    const json = JSON.stringify(
      SAMPLE,
      (_key, value) => value instanceof Uint8Array ? { u8: [...value] } : value,
    );
    const script = `
      import { buildDeb } from ${
      JSON.stringify(new URL("../../tasks/lib/deb_writer.ts", import.meta.url).href)
    };
      import { createHash } from "node:crypto";
      const options = JSON.parse(${JSON.stringify(json)}, (_key, value) =>
        value !== null && typeof value === "object" && Array.isArray(value.u8) ? Uint8Array.from(value.u8) : value);
      console.log(createHash("sha256").update(buildDeb(options)).digest("hex"));
    `;
    const { success, stdout, stderr } = await runCommand(Deno.execPath(), [
      "eval",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      script,
    ]);
    assert.ok(success, stderr);
    const { createHash } = await import("node:crypto");
    const here = createHash("sha256").update(buildDeb(SAMPLE)).digest("hex");
    assert.equal(stdout.trim(), here);
  },
});
