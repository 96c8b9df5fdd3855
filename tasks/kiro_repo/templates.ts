/**
 * The kiro-repo templates (`kiro-repo-deb/templates/`) and their placeholders.
 *
 * A placeholder is `@NAME@` (upper-case letters, digits, `_`). Rendering
 * replaces every one; a template that names a placeholder with no value is an
 * error (so a typo never ships as literal text in a maintainer script).
 *
 * @module
 */

/** The texts of every template, by role. */
export interface KiroRepoTemplates {
  /** The control paragraph (`@DESCRIPTION_LONG@` alone on its line). */
  control: string;
  /** `/etc/apt/sources.list.d/kiro.sources` (deb822). */
  sources: string;
  preinst: string;
  postinst: string;
  prerm: string;
  postrm: string;
  /** `/usr/share/doc/kiro-repo/copyright` (DEP-5). */
  copyright: string;
  /** The Debian changelog, newest entry first (compressed into `changelog.gz`). */
  changelog: string;
  /** `/usr/share/lintian/overrides/kiro-repo`: each override with its reason. */
  lintianOverrides: string;
}

/** The file name of each template in `kiro-repo-deb/templates/`. */
export const TEMPLATE_FILES: Readonly<Record<keyof KiroRepoTemplates, string>> = {
  control: "control",
  sources: "kiro.sources",
  preinst: "preinst",
  postinst: "postinst",
  prerm: "prerm",
  postrm: "postrm",
  copyright: "copyright",
  changelog: "changelog",
  lintianOverrides: "lintian-overrides",
};

/** A template cannot be rendered. */
export class TemplateError extends Error {
  override name = "TemplateError";
}

const PLACEHOLDER = /@([A-Z][A-Z0-9_]*)@/g;

/**
 * `text` with every `@NAME@` replaced by `values[NAME]`. Throws
 * {@linkcode TemplateError} naming `options.name` and the placeholders that
 * have no value.
 */
export function renderTemplate(
  text: string,
  values: Readonly<Record<string, string>>,
  options: { name: string },
): string {
  const unknown = new Set<string>();
  const rendered = text.replace(PLACEHOLDER, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) {
      unknown.add(whole);
      return whole;
    }
    return value;
  });
  if (unknown.size > 0) {
    throw new TemplateError(
      `Cannot render the template ${options.name}: it uses ${[...unknown].join(", ")}, ` +
        `which ${unknown.size === 1 ? "is" : "are"} not known (known: ${
          Object.keys(values).map((key) => `@${key}@`).join(", ")
        })`,
    );
  }
  return rendered;
}

/** The placeholders `text` uses, sorted, without duplicates. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((match) => match[1] as string))].sort();
}
