import assert from "node:assert/strict";
import { join } from "node:path";
import type { CommandResult } from "../../tasks/lib/command.ts";
import {
  changelogProblems,
  checkChangelog,
  parseChangelog,
} from "../../tasks/releases/changelog.ts";

const ENTRY = [
  "## [1.2.0] - 2026-01-27",
  "",
  "### Added",
  "- retries",
  "",
  "### Deployment Notes",
  "- dev first",
  "",
  "### Rollback Plan",
  "- revert to 1.1.0",
  "",
].join("\n");

function fakeGit(answers: Record<string, string>) {
  return (args: string[]): Promise<CommandResult> => {
    const key = args[0] as string;
    const stdout = answers[key] ?? "";
    return Promise.resolve({
      success: key !== "rev-parse" || stdout !== "",
      code: 0,
      stdout,
      stderr: "",
    });
  };
}

async function withChangelog(text: string, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kiro-changelog-" });
  try {
    await Deno.writeTextFile(join(dir, "CHANGELOG.md"), text);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the repository's CHANGELOG.md has the deployment standards' format", async () => {
  const text = await Deno.readTextFile(new URL("../../CHANGELOG.md", import.meta.url));
  assert.deepEqual(changelogProblems(text), []);
  assert.ok(parseChangelog(text).length >= 2);
});

Deno.test("an entry without Deployment Notes, Rollback Plan or a change section is refused", () => {
  const bare = "## [1.0.0] - 2026-01-01\n\n### Deployment Notes\n- x\n";
  const problems = changelogProblems(bare);
  assert.match(problems.join("\n"), /\[1\.0\.0\] has no ### Rollback Plan/);
  assert.match(problems.join("\n"), /\[1\.0\.0\] has none of ### Added, ### Changed, ### Fixed/);
  assert.match(changelogProblems("# Changelog\n").join(""), /has no entry/);
});

Deno.test("preflight's changelog step fails when code changed since the newest entry", async () => {
  await withChangelog(ENTRY, async (dir) => {
    const changed = await checkChangelog(dir, {
      git: fakeGit({ log: "abc123\n", diff: "lambda/handler.ts\n" }),
    });
    assert.equal(changed.ok, false);
    assert.match(
      changed.detail,
      /The code changed since \[1\.2\.0\] \(lambda\/handler\.ts\) without a new CHANGELOG\.md entry/,
    );
    const same = await checkChangelog(dir, { git: fakeGit({ log: "abc123\n", diff: "" }) });
    assert.deepEqual(same, { ok: true, detail: "no code change since [1.2.0]" });
    const fresh = await checkChangelog(dir, { git: fakeGit({}) });
    assert.equal(fresh.ok, true, "an entry not committed yet is the new one");
  });
});

Deno.test("the changelog step compares with the version's tag when there is one", async () => {
  await withChangelog(ENTRY, async (dir) => {
    const seen: string[][] = [];
    const git = (args: string[]) => {
      seen.push(args);
      return fakeGit({ "rev-parse": "feed42\n", diff: "" })(args);
    };
    assert.equal((await checkChangelog(dir, { git })).ok, true);
    assert.deepEqual(seen.find((a) => a[0] === "diff")?.slice(0, 3), [
      "diff",
      "--name-only",
      "feed42",
    ]);
  });
});
