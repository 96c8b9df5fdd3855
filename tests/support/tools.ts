/**
 * Test gating for tools that only a Debian machine (or root) has.
 *
 * In CI (`CI=true`) a missing tool is a failure: the tests that need it must run
 * there. Elsewhere the test is skipped with a message that says what to install.
 *
 * @module
 */

/** Whether the tests run in CI, where every tool must be present. */
export const inCi: boolean = Deno.env.get("CI") === "true";

const found = new Map<string, boolean>();

/** Whether `tool` is on the PATH. */
export function hasTool(tool: string): boolean {
  const known = found.get(tool);
  if (known !== undefined) return known;
  const { success } = new Deno.Command("sh", {
    args: ["-c", `command -v "${tool}" >/dev/null 2>&1`],
  }).outputSync();
  found.set(tool, success);
  return success;
}

/** Whether the tests run as root. */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * The `ignore` value for a `Deno.test` that needs `tools` (and root, when asked).
 * Outside CI a missing tool skips the test, with a message on stderr; in CI the
 * test runs, and fails on the missing tool.
 */
export function missingTools(tools: string[], options: { root?: boolean } = {}): boolean {
  const missing = tools.filter((tool) => !hasTool(tool));
  const needRoot = options.root === true && !isRoot();
  if (missing.length === 0 && !needRoot) return false;
  if (inCi) return false;
  const what = [
    ...(missing.length > 0 ? [`missing ${missing.join(", ")} (apt-get install them)`] : []),
    ...(needRoot ? ["not root"] : []),
  ].join("; ");
  console.error(`Skipping a test: ${what}; in CI it runs`);
  return true;
}
