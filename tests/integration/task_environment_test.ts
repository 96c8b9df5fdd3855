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
