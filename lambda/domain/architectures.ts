/**
 * The architectures a repository publishes: the stack setting
 * `architectures` (`docs/design.md`, "Repository layout and publishing"), its
 * default, and its check. The door (`lambda/deb/door.ts`) refuses a `.deb` of
 * any other architecture; the Pulumi program and the stack outputs check the
 * setting with the same function. No dependencies: the program imports it.
 *
 * @module
 */

/** The architectures a repository publishes unless its stack says otherwise. */
export const DEFAULT_ARCHITECTURES: readonly string[] = ["amd64", "arm64", "all"];

/**
 * The list `text` spells (`amd64,arm64,all`; spaces allowed), checked with
 * {@linkcode checkArchitectures}.
 */
export function parseArchitectures(text: string, options: { setting: string }): string[] {
  const list = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  return [...checkArchitectures(list, options)];
}

/**
 * Checks a configured architecture list: non-empty, Debian architecture
 * names, never `source`. Returns the list; throws `RangeError` naming `setting`.
 */
export function checkArchitectures(
  architectures: readonly string[],
  options: { setting: string },
): readonly string[] {
  if (architectures.length === 0) {
    throw new RangeError(
      `${options.setting} is empty: list the architectures the repository publishes ` +
        `(e.g. amd64, arm64, all)`,
    );
  }
  for (const architecture of architectures) {
    if (architecture === "source") {
      throw new RangeError(
        `${options.setting} lists "source": the repository publishes binary packages only; ` +
          `remove it`,
      );
    }
    if (!/^[a-z0-9][a-z0-9-]*$/.test(architecture)) {
      throw new RangeError(
        `${options.setting} lists ${JSON.stringify(architecture)}, which is not a Debian ` +
          `architecture name (lowercase letters, digits and -)`,
      );
    }
  }
  return architectures;
}
