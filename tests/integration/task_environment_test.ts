import assert from "node:assert/strict";

/** Every task that takes an environment, with the arguments it needs to reach that point. */
const TASKS: Record<string, string[]> = {
  "outputs.ts": [],
  "rebuild.ts": [],
  "verify.ts": [],
  "sync.ts": [],
  "migrate.ts": [],
  "restore.ts": ["--backup-file", "/nonexistent/backup.jsonl"],
  "seed_legacy.ts": [],
  "build_kiro_repo.ts": [],
  "keygen.ts": [],
  "postdeploy.ts": [],
};

for (const [task, args] of Object.entries(TASKS)) {
  Deno.test(`${task} refuses an unknown KIRO_ENV with exit code 2 and a one-line message`, async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL(`../../tasks/${task}`, import.meta.url).pathname,
        ...args,
      ],
      env: { KIRO_ENV: "bogus", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 2, `exit code ${code}; stdout: ${new TextDecoder().decode(stdout)}; ${err}`);
    assert.match(err, /KIRO_ENV must be one of local, dev, prod \(got "bogus"\)/);
    assert.doesNotMatch(err, /Uncaught|\n\s+at /, "no stack trace");
  });
}

Deno.test("a KIRO_LOCAL_DIR under a regular file is one line naming the variable, the file and what to do", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-local-dir-" });
  try {
    const file = `${dir}/plain`;
    await Deno.writeTextFile(file, "not a folder\n");
    const cases: [string, string][] = [["list.ts", `${file}/state`], ["rebuild.ts", file]];
    for (const [task, localDir] of cases) {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", new URL(`../../tasks/${task}`, import.meta.url).pathname],
        env: { KIRO_ENV: "local", KIRO_LOCAL_DIR: localDir, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(stderr).trim();
      assert.equal(code, 1, `${task}: exit code ${code}; ${new TextDecoder().decode(stdout)}`);
      assert.equal(
        err.split("\n").at(-1),
        `${task.replace(".ts", "")}: Cannot use KIRO_LOCAL_DIR=${localDir}: ${file} is a file, ` +
          "not a folder; set KIRO_LOCAL_DIR to a folder you can write to (or unset it to use " +
          ".local/ in the project)",
      );
      assert.doesNotMatch(err, /Uncaught|\n\s+at /, "no stack trace");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
