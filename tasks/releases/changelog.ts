/**
 * `CHANGELOG.md` in the deployment standards' format (README, "Releases"):
 * one `## [VERSION] - YYYY-MM-DD` entry per release, newest first, each with
 * at least one of `### Added`, `### Changed`, `### Fixed`, and always
 * `### Deployment Notes` and `### Rollback Plan`.
 *
 * {@linkcode checkChangelog} is preflight's `changelog` step: the format, and
 * that the code has not changed since the newest entry's version (its tag
 * `vVERSION`, else the commit that added the entry) without a new entry.
 *
 * @module
 */

import { type CommandResult, runCommand } from "../lib/command.ts";

/** One release in the changelog. */
export interface ChangelogEntry {
  version: string;
  date: string;
  /** The `###` headings of the entry, in order. */
  sections: string[];
}

/** The headings every entry needs, and the ones of which it needs at least one. */
export const REQUIRED_SECTIONS = ["Deployment Notes", "Rollback Plan"] as const;
export const CHANGE_SECTIONS = ["Added", "Changed", "Fixed"] as const;

/** What counts as code: a change here needs a changelog entry. */
export const CODE_PATHS = [
  "lambda",
  "infra",
  "tasks",
  "config",
  "kiro-repo-deb",
  "deno.json",
  "package.json",
  "Pulumi.yaml",
  "Pulumi.dev.yaml",
  "Pulumi.prod.yaml",
] as const;

const HEADING = /^## \[(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)\] - (\d{4}-\d{2}-\d{2})\s*$/;

/** The entries of a changelog text, newest (first) first. */
export function parseChangelog(text: string): ChangelogEntry[] {
  const entries: ChangelogEntry[] = [];
  for (const line of text.split("\n")) {
    const heading = HEADING.exec(line);
    if (heading !== null) {
      entries.push({ version: heading[1] as string, date: heading[2] as string, sections: [] });
      continue;
    }
    const section = /^### (.+?)\s*$/.exec(line);
    if (section !== null) entries[entries.length - 1]?.sections.push(section[1] as string);
  }
  return entries;
}

/** What is wrong with the changelog's format (empty when nothing). */
export function changelogProblems(text: string, file = "CHANGELOG.md"): string[] {
  const entries = parseChangelog(text);
  if (entries.length === 0) {
    return [`${file} has no entry: add "## [VERSION] - YYYY-MM-DD" with its sections`];
  }
  const problems: string[] = [];
  for (const entry of entries) {
    const missing = REQUIRED_SECTIONS.filter((s) => !entry.sections.includes(s));
    if (missing.length > 0) {
      problems.push(
        `${file} [${entry.version}] has no ${missing.map((s) => `### ${s}`).join(" or ")}: ` +
          "every release says how to deploy it and how to roll it back",
      );
    }
    if (!CHANGE_SECTIONS.some((s) => entry.sections.includes(s))) {
      problems.push(`${file} [${entry.version}] has none of ### Added, ### Changed, ### Fixed`);
    }
  }
  const versions = entries.map((e) => e.version);
  const twice = versions.find((v, i) => versions.indexOf(v) !== i);
  if (twice !== undefined) problems.push(`${file} has two entries for [${twice}]`);
  return problems;
}

/** How {@linkcode checkChangelog} runs git (tests give a fake). */
export type GitRunner = (args: string[]) => Promise<CommandResult>;

/** The result of the check. */
export interface ChangelogCheck {
  ok: boolean;
  detail: string;
}

/**
 * Checks `root`'s CHANGELOG.md: its format, and that no code file
 * ({@linkcode CODE_PATHS}) changed since the newest entry's version, committed
 * or not, unless a newer entry is written.
 */
export async function checkChangelog(
  root: string,
  options: { git?: GitRunner } = {},
): Promise<ChangelogCheck> {
  const git = options.git ?? ((args: string[]) => runCommand("git", args, { cwd: root }));
  let text: string;
  try {
    text = await Deno.readTextFile(`${root}/CHANGELOG.md`);
  } catch {
    return {
      ok: false,
      detail: 'Cannot read CHANGELOG.md: add one (README, "Releases", shows the format)',
    };
  }
  const problems = changelogProblems(text);
  if (problems.length > 0) return { ok: false, detail: problems.join("\n") };
  const latest = parseChangelog(text)[0] as ChangelogEntry;
  const tag = await git(["rev-parse", "-q", "--verify", `refs/tags/v${latest.version}^{commit}`]);
  let base = tag.success ? tag.stdout.trim() : "";
  if (base === "") {
    const added = await git([
      "log",
      "--format=%H",
      "-S",
      `## [${latest.version}]`,
      "--",
      "CHANGELOG.md",
    ]);
    base = added.stdout.trim().split("\n").filter((l) => l !== "").pop() ?? "";
  }
  if (base === "") {
    return { ok: true, detail: `[${latest.version}] is a new entry, not committed yet` };
  }
  const diff = await git(["diff", "--name-only", base, "--", ...CODE_PATHS]);
  if (!diff.success) {
    return { ok: false, detail: `git diff ${base} failed: ${diff.stderr.trim()}` };
  }
  const changed = diff.stdout.trim().split("\n").filter((l) => l !== "");
  if (changed.length === 0) {
    return { ok: true, detail: `no code change since [${latest.version}]` };
  }
  return {
    ok: false,
    detail:
      `The code changed since [${latest.version}] (${changed.slice(0, 5).join(", ")}${
        changed.length > 5 ? `, and ${changed.length - 5} more` : ""
      }) without a new CHANGELOG.md entry: add "## [NEXT] - DATE" with Added/Changed/Fixed, ` +
      "Deployment Notes and Rollback Plan",
  };
}
