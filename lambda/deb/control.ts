/**
 * Debian control paragraphs (deb822), as found in a binary package's
 * `DEBIAN/control`: parsing with dpkg's rules and formatting.
 *
 * Value representation (see {@linkcode ControlFields}): the first line without
 * the white space around it, then each continuation line as it stood in the
 * file (leading white space kept, trailing white space dropped), joined with
 * `\n`.
 *
 * @module
 */

import type { ControlFields } from "../domain/package_record.ts";

export type { ControlFields };

/** A control paragraph that does not follow deb822 as dpkg reads it. */
export class ControlSyntaxError extends Error {
  /** The file or member the text came from. */
  readonly source: string;
  /** The 1-based line the problem is on (0 when it is about the whole text). */
  readonly line: number;

  /** @param source where the text came from; @param line 1-based line, 0 for none */
  constructor(source: string, line: number, problem: string) {
    super(`${source}: ${line > 0 ? `line ${line}: ` : ""}${problem}`);
    this.name = "ControlSyntaxError";
    this.source = source;
    this.line = line;
  }
}

/** Options of {@linkcode parseControl}. */
export interface ParseControlOptions {
  /** Where the text came from, named in error messages (e.g. `kiro_1.0_amd64.deb: control`). */
  source: string;
}

// A field name: printable US-ASCII except ':' and space, not starting with '#' or '-'
// (Debian Policy 5.1; dpkg rejects '#' and '-' at the start).
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** Whether `name` is a valid deb822 field name. */
export function isValidFieldName(name: string): boolean {
  return FIELD_NAME.test(name) && !name.startsWith("#") && !name.startsWith("-");
}

const isBlank = (line: string): boolean => /^[ \t\r]*$/.test(line);

/**
 * Parses the control paragraph of a binary package, with the rules dpkg
 * applies to `DEBIAN/control`: exactly one paragraph (blank lines before and
 * after it are ignored), `Name: value` lines with continuation lines starting
 * with a space or tab, no blank line inside a value, no comment lines (dpkg
 * reads `# text` as a bad field name), no duplicate field (names compared
 * without case).
 *
 * @throws {ControlSyntaxError} naming `options.source` and the line.
 */
export function parseControl(text: string, options: ParseControlOptions): ControlFields {
  const { source } = options;
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const fields: ControlFields = {};
  const seen = new Map<string, string>();
  let current: { name: string; parts: string[] } | undefined;
  let state: "before" | "in" | "after" = "before";
  const finish = () => {
    if (current === undefined) return;
    // defineProperty: a field named __proto__ must be data, not the object's prototype.
    Object.defineProperty(fields, current.name, {
      value: current.parts.join("\n"),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    current = undefined;
  };
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] as string;
    const lineNo = index + 1;
    if (raw !== "" && isBlank(raw)) {
      // dpkg ends a paragraph only at a really empty line; white space alone is an error.
      throw new ControlSyntaxError(
        source,
        lineNo,
        current !== undefined && state === "in"
          ? `blank line in the value of field ${current.name} (write " ." for an empty line)`
          : "line of only white space (a paragraph separator must be an empty line)",
      );
    }
    const line = raw.replace(/[ \t\r]+$/, "");
    if (line === "") {
      if (state === "in") {
        finish();
        state = "after";
      }
      continue;
    }
    if (state === "after") {
      throw new ControlSyntaxError(
        source,
        lineNo,
        "more than one paragraph: a binary package's control file holds exactly one",
      );
    }
    state = "in";
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (current === undefined) {
        throw new ControlSyntaxError(
          source,
          lineNo,
          "continuation line before any field (a line starting with white space must follow a field)",
        );
      }
      current.parts.push(line);
      continue;
    }
    if (line.startsWith("#")) {
      throw new ControlSyntaxError(
        source,
        lineNo,
        "comment lines are not allowed in a binary package's control file, and field names " +
          "must not start with #",
      );
    }
    const colon = line.indexOf(":");
    const name = (colon < 0 ? line : line.slice(0, colon)).replace(/[ \t]+$/, "");
    if (colon < 0 || !isValidFieldName(name)) {
      const shown = JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
      const why = colon < 0
        ? "is not a field (expected Name: value)"
        : name === ""
        ? "has an empty field name"
        : `has an invalid field name ${JSON.stringify(name)}`;
      throw new ControlSyntaxError(source, lineNo, `line ${shown} ${why}`);
    }
    finish();
    const key = name.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new ControlSyntaxError(
        source,
        lineNo,
        `duplicate field ${name} (already given as ${earlier})`,
      );
    }
    seen.set(key, name);
    current = { name, parts: [line.slice(colon + 1).replace(/^[ \t]+/, "")] };
  }
  finish();
  if (seen.size === 0) {
    throw new ControlSyntaxError(source, 0, "no control paragraph (the text is empty)");
  }
  return fields;
}

/**
 * The value of field `name`, looked up without regard to case, or `undefined`.
 *
 * @example
 * ```ts
 * getField({ Package: "kiro" }, "package"); // "kiro"
 * ```
 */
export function getField(fields: ControlFields, name: string): string | undefined {
  if (Object.hasOwn(fields, name)) return fields[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(fields)) {
    if (key.toLowerCase() === lower) return value;
  }
  return undefined;
}

/** The name under which `name` is stored in `fields` (matched without case), or `undefined`. */
export function fieldKey(fields: ControlFields, name: string): string | undefined {
  if (Object.hasOwn(fields, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(fields).find((key) => key.toLowerCase() === lower);
}

/**
 * The field order of a binary package's control file as `dpkg-gencontrol`
 * writes it. {@linkcode formatControl} puts these first, in this order.
 */
export const BINARY_CONTROL_ORDER: readonly string[] = [
  "Package",
  "Package-Type",
  "Source",
  "Version",
  "Kernel-Version",
  "Built-For-Profiles",
  "Auto-Built-Package",
  "Architecture",
  "Subarchitecture",
  "Installer-Menu-Item",
  "Essential",
  "Protected",
  "Origin",
  "Bugs",
  "Maintainer",
  "Installed-Size",
  "Pre-Depends",
  "Depends",
  "Recommends",
  "Suggests",
  "Breaks",
  "Conflicts",
  "Enhances",
  "Provides",
  "Replaces",
  "Built-Using",
  "Static-Built-Using",
  "Section",
  "Priority",
  "Multi-Arch",
  "Homepage",
  "Description",
  "Tag",
  "Task",
];

/** Options of {@linkcode formatControl}. */
export interface FormatControlOptions {
  /**
   * Field names to write first, in this order (compared without case); the
   * other fields follow in their insertion order. Default: keep insertion order.
   */
  order?: readonly string[];
  /** Named in error messages. Default `control`. */
  source?: string;
}

/**
 * Writes a control paragraph: `Name: value` per field, continuation lines as
 * they are in the value, ending in `\n`. The inverse of {@linkcode parseControl}.
 *
 * @throws {ControlSyntaxError} when a field name is invalid, a name appears
 * twice (without case), or a value has a line that does not start with white
 * space, a blank line, or trailing white space.
 */
export function formatControl(fields: ControlFields, options: FormatControlOptions = {}): string {
  const source = options.source ?? "control";
  const names = Object.keys(fields);
  if (names.length === 0) throw new ControlSyntaxError(source, 0, "no fields to write");
  const ordered: string[] = [];
  const used = new Set<string>();
  for (const wanted of options.order ?? []) {
    const key = fieldKey(fields, wanted);
    if (key !== undefined && !used.has(key)) {
      ordered.push(key);
      used.add(key);
    }
  }
  for (const name of names) if (!used.has(name)) ordered.push(name);

  const seen = new Map<string, string>();
  let out = "";
  for (const name of ordered) {
    if (!isValidFieldName(name)) {
      throw new ControlSyntaxError(source, 0, `invalid field name ${JSON.stringify(name)}`);
    }
    const earlier = seen.get(name.toLowerCase());
    if (earlier !== undefined) {
      throw new ControlSyntaxError(source, 0, `duplicate field ${name} (also given as ${earlier})`);
    }
    seen.set(name.toLowerCase(), name);
    const value = fields[name] as string;
    const [first = "", ...rest] = value.split("\n");
    if (first !== first.trim()) {
      throw new ControlSyntaxError(
        source,
        0,
        `field ${name}: the first line of the value has white space around it`,
      );
    }
    for (const line of rest) {
      if (!/^[ \t]/.test(line) || isBlank(line) || /[ \t\r]$/.test(line)) {
        throw new ControlSyntaxError(
          source,
          0,
          `field ${name}: continuation line ${JSON.stringify(line)} must start with a space ` +
            `or tab, not be blank (use " ."), and have no trailing white space`,
        );
      }
    }
    out += first === "" ? `${name}:` : `${name}: ${first}`;
    for (const line of rest) out += `\n${line}`;
    out += "\n";
  }
  return out;
}
