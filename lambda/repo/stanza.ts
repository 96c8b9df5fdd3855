/**
 * The `Packages` stanza of one package version, written the way
 * `apt-ftparchive packages` (apt 2.6) writes it for the same `.deb`.
 *
 * The stanza comes from the `.deb`'s own control paragraph (`record.control`).
 * The record's `package_name`, `version`, `architecture`, `maintainer`,
 * `description`, `section`, `priority`, `homepage` and `depends` fill in only
 * the fields that the paragraph lacks (records migrated from the legacy table
 * have an incomplete or empty paragraph). Then, as apt-ftparchive does:
 *
 * - `Filename`, `Size`, `MD5sum`, `SHA1`, `SHA256` are the record's own
 *   (`pool_key`, `file_size`, hashes), whatever the paragraph says;
 * - `Status` is dropped, and so is `SHA512`, which apt-ftparchive would
 *   recompute from the file and the record does not carry (apt uses the
 *   strongest hash present, SHA256 here);
 * - fields are written in apt's canonical order (apt-pkg's
 *   `TFRewritePackageOrder`) under their canonical names (`depends` →
 *   `Depends`); fields apt does not know follow, in the paragraph's order, with
 *   their own spelling; a value that starts on the next line is written as
 *   `Name:` with no space (`Conffiles:`), as apt does.
 *
 * @module
 */

import type { ControlFields, PackageRecord } from "../domain/package_record.ts";
import { compareVersions, isValidVersion } from "../domain/version.ts";

/** A record that cannot give a valid stanza (the message names the record and field). */
export class StanzaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StanzaError";
  }
}

/** apt-pkg's `TFRewritePackageOrder` (apt 2.6, apt-pkg/tagfile-order.c). */
export const PACKAGE_FIELD_ORDER: readonly string[] = [
  "Package",
  "Package-Type",
  "Architecture",
  "Subarchitecture",
  "Version",
  "Kernel-Version",
  "Built-Using",
  "Static-Built-Using",
  "Built-For-Profiles",
  "Auto-Built-Package",
  "Multi-Arch",
  "Status",
  "Priority",
  "Build-Essential",
  "Protected",
  "Important",
  "Essential",
  "Installer-Menu-Item",
  "Section",
  "Source",
  "Origin",
  "Phased-Update-Percentage",
  "Maintainer",
  "Original-Maintainer",
  "Bugs",
  "Config-Version",
  "Conffiles",
  "Triggers-Awaited",
  "Triggers-Pending",
  "Installed-Size",
  "Provides",
  "Pre-Depends",
  "Depends",
  "Recommends",
  "Suggests",
  "Conflicts",
  "Breaks",
  "Replaces",
  "Enhances",
  "Filename",
  "MSDOS-Filename",
  "Size",
  "MD5sum",
  "SHA1",
  "SHA256",
  "SHA512",
  "Homepage",
  "Description",
  "Description-md5",
  "Tag",
  "Task",
];

const ORDER = new Map(PACKAGE_FIELD_ORDER.map((name, i) => [name.toLowerCase(), i]));
/** Positions in {@linkcode PACKAGE_FIELD_ORDER} of the fields the stanza fills itself. */
const AT = {
  package: ORDER.get("package")!,
  version: ORDER.get("version")!,
  architecture: ORDER.get("architecture")!,
  maintainer: ORDER.get("maintainer")!,
  section: ORDER.get("section")!,
  priority: ORDER.get("priority")!,
  homepage: ORDER.get("homepage")!,
  depends: ORDER.get("depends")!,
  description: ORDER.get("description")!,
  filename: ORDER.get("filename")!,
  size: ORDER.get("size")!,
  md5sum: ORDER.get("md5sum")!,
  sha1: ORDER.get("sha1")!,
  sha256: ORDER.get("sha256")!,
};

/** Fields of the paragraph that the stanza never takes from it. */
const REPLACED = new Set(["filename", "size", "md5sum", "sha1", "sha256", "sha512", "status"]);
/** Versions already checked (a rebuild sees each a few times, once per architecture). */
const validVersions = new Set<string>();
function validVersion(version: string): boolean {
  if (validVersions.has(version)) return true;
  if (!isValidVersion(version)) return false;
  if (validVersions.size >= 100_000) validVersions.clear();
  validVersions.add(version);
  return true;
}

const FIELD_NAME = /^[!-9;-~][!-9;-~]*$/;

interface FieldInfo {
  /** Position in the canonical order, or undefined for a field apt does not know. */
  index: number | undefined;
  lower: string;
  /** Whether the stanza never takes this field from the paragraph. */
  replaced: boolean;
}

/** Field names already seen (a rebuild sees the same few dozen names thousands of times). */
const fieldInfos = new Map<string, FieldInfo>();
function fieldInfo(name: string): FieldInfo | undefined {
  let info = fieldInfos.get(name);
  if (info === undefined) {
    if (!FIELD_NAME.test(name)) return undefined;
    const lower = name.toLowerCase();
    info = { index: ORDER.get(lower), lower, replaced: REPLACED.has(lower) };
    if (fieldInfos.size < 10_000) fieldInfos.set(name, info);
  }
  return info;
}
const HEX = { md5: /^[0-9a-f]{32}$/, sha1: /^[0-9a-f]{40}$/, sha256: /^[0-9a-f]{64}$/ };

/**
 * The `Packages` stanza of `record`: deb822 text, one line per field (plus
 * continuation lines), ending with one `\n` and no blank line. A `Packages`
 * file is the stanzas each followed by a blank line.
 *
 * @throws {StanzaError} when the record lacks a required field, its control
 *   paragraph disagrees with it on Package, Version or Architecture, a hash or
 *   size is malformed, or a value would break the deb822 syntax
 * @example
 * ```ts
 * packagesStanza(record);
 * // "Package: kiro\nArchitecture: amd64\nVersion: 1.0.337\n…\nSHA256: …\nDescription: …\n"
 * ```
 */
export function packagesStanza(record: PackageRecord): string {
  // Values by canonical position in a scratch array, emptied before returning
  // (by the output loop, or here on an error; this function never yields).
  const slots = SLOTS;
  try {
    return writeStanza(record, slots);
  } catch (error) {
    slots.fill(undefined);
    throw error;
  }
}

const SLOTS: (string | undefined)[] = new Array(PACKAGE_FIELD_ORDER.length).fill(undefined);
/** `Name: ` and `Name:` of each canonical field, built once. */
const WITH_SPACE = PACKAGE_FIELD_ORDER.map((name) => `${name}: `);
const WITHOUT_SPACE = PACKAGE_FIELD_ORDER.map((name) => `${name}:`);

/** How error messages name a record (built only when there is an error). */
function describe(record: PackageRecord): string {
  return `package record ${record.package_id || `${record.package_name}#${record.version}`}`;
}

/** Fills a slot the paragraph left empty from a record field. */
function fill(
  record: PackageRecord,
  slots: (string | undefined)[],
  index: number,
  value: string | undefined,
  multiline: boolean,
): void {
  if (slots[index] !== undefined || value === undefined || value.trim() === "") return;
  slots[index] = multiline
    ? foldDescription(value)
    : oneLine(record, PACKAGE_FIELD_ORDER[index]!, value);
}

function writeStanza(record: PackageRecord, slots: (string | undefined)[]): string {
  let unknown: [string, string][] | undefined;

  const control: ControlFields = record.control ?? {};
  for (const name in control) {
    if (!Object.hasOwn(control, name)) continue;
    const info = fieldInfo(name);
    if (info === undefined) {
      throw new StanzaError(
        `Invalid ${describe(record)}: control field name ${JSON.stringify(name)}`,
      );
    }
    if (info.replaced) continue;
    const value = checkValue(record, name, trimEnd(control[name]!));
    if (info.index !== undefined) {
      if (slots[info.index] !== undefined) {
        throw new StanzaError(`Invalid ${describe(record)}: control field ${name} appears twice`);
      }
      slots[info.index] = value;
    } else {
      unknown ??= [];
      if (unknown.some(([n]) => n.toLowerCase() === info.lower)) {
        throw new StanzaError(`Invalid ${describe(record)}: control field ${name} appears twice`);
      }
      unknown.push([name, value]);
    }
  }

  // What the paragraph lacks, from the record.
  fill(record, slots, AT.package, record.package_name, false);
  fill(record, slots, AT.version, record.version, false);
  fill(record, slots, AT.architecture, record.architecture, false);
  fill(record, slots, AT.maintainer, record.maintainer, false);
  fill(record, slots, AT.section, record.section, false);
  fill(record, slots, AT.priority, record.priority, false);
  fill(record, slots, AT.homepage, record.homepage, false);
  fill(record, slots, AT.depends, record.depends, false);
  fill(record, slots, AT.description, record.description, true);

  const pkg = slots[AT.package];
  const version = slots[AT.version];
  const arch = slots[AT.architecture];
  if (pkg !== record.package_name) {
    throw new StanzaError(
      `Invalid ${describe(record)}: control Package ${JSON.stringify(pkg)} differs from ` +
        `package_name ${JSON.stringify(record.package_name)}`,
    );
  }
  if (version === undefined || !validVersion(version)) {
    throw new StanzaError(
      `Invalid ${describe(record)}: Version ${JSON.stringify(version)} is not valid`,
    );
  }
  if (
    version !== record.version &&
    (!validVersion(record.version) || compareVersions(version, record.version) !== 0)
  ) {
    throw new StanzaError(
      `Invalid ${describe(record)}: control Version ${JSON.stringify(version)} differs from ` +
        `version ${JSON.stringify(record.version)}`,
    );
  }
  if (arch !== record.architecture) {
    throw new StanzaError(
      `Invalid ${describe(record)}: control Architecture ${JSON.stringify(arch)} differs from ` +
        `architecture ${JSON.stringify(record.architecture)}`,
    );
  }
  for (const [index, name] of [[AT.maintainer, "Maintainer"], [AT.description, "Description"]]) {
    if (slots[index as number] === undefined) {
      throw new StanzaError(
        `Invalid ${describe(record)}: no ${name} in its control paragraph or record; ` +
          "add it to the record",
      );
    }
  }

  const poolKey = record.pool_key;
  if (!poolKey || WHITE_SPACE.test(poolKey) || poolKey[0] === "/") {
    throw new StanzaError(`Invalid ${describe(record)}: pool_key ${JSON.stringify(poolKey)}`);
  }
  if (!Number.isSafeInteger(record.file_size) || record.file_size < 0) {
    throw new StanzaError(
      `Invalid ${describe(record)}: file_size ${JSON.stringify(record.file_size)}`,
    );
  }
  slots[AT.filename] = poolKey;
  slots[AT.size] = String(record.file_size);
  slots[AT.md5sum] = checkHash(record, "md5_hash", record.md5_hash, HEX.md5);
  slots[AT.sha1] = checkHash(record, "sha1_hash", record.sha1_hash, HEX.sha1);
  slots[AT.sha256] = checkHash(record, "sha256_hash", record.sha256_hash, HEX.sha256);

  let out = "";
  // Written and emptied in one pass (see packagesStanza).
  for (let i = 0; i < slots.length; i++) {
    const value = slots[i];
    if (value === undefined) continue;
    slots[i] = undefined;
    out += (startsOnNextLine(value) ? WITHOUT_SPACE[i]! : WITH_SPACE[i]!) + value + "\n";
  }
  if (unknown !== undefined) { for (const [name, value] of unknown) out += line(name, value); }
  return out;
}

const WHITE_SPACE = /\s/;

/** Whether apt writes the value right after the colon (empty, or starting with a space or line). */
function startsOnNextLine(value: string): boolean {
  const c = value.charCodeAt(0);
  return value === "" || c === 32 || c === 9 || c === 10;
}

/** One field as apt's `WriteTag` writes it. */
function line(name: string, value: string): string {
  return startsOnNextLine(value) ? `${name}:${value}\n` : `${name}: ${value}\n`;
}

const BAD_CONTINUATION = /\n(?:[^ \t]|[ \t]*(?:\n|$))/;

function trimEnd(value: string): string {
  const c = value.charCodeAt(value.length - 1);
  return c === 32 || c === 9 || c === 13 || c === 10 ? value.replace(/[ \t\r\n]+$/, "") : value;
}

/** Refuses a value that would end the field or the stanza early. */
function checkValue(record: PackageRecord, name: string, value: string): string {
  if (value.includes("\r")) {
    throw new StanzaError(`Invalid ${describe(record)}: field ${name} contains a carriage return`);
  }
  if (!value.includes("\n")) return value;
  const bad = BAD_CONTINUATION.exec(value);
  if (bad !== null) {
    const line = value.slice(0, bad.index).split("\n").length + 1;
    throw new StanzaError(
      `Invalid ${
        describe(record)
      }: field ${name} has a continuation line that is empty or does not ` +
        `start with a space (line ${line}); write empty lines as " ."`,
    );
  }
  return value;
}

function oneLine(record: PackageRecord, name: string, value: string): string {
  const text = value.trim();
  if (/[\r\n]/.test(text)) {
    throw new StanzaError(
      `Invalid ${describe(record)}: ${name.toLowerCase()} must be a single line`,
    );
  }
  return text;
}

/**
 * A description from the record as a deb822 value: the synopsis, then each
 * further line indented by one space, blank lines written as ` .`. Lines that
 * are already indented are kept as they are.
 */
function foldDescription(text: string): string {
  const lines = text.replace(/\r\n?/g, "\n").replace(/\s+$/, "").split("\n");
  const synopsis = lines.shift()!.trim();
  const rest = lines.map((l) =>
    l.trim() === "" || l.trim() === "." ? " ." : l[0] === " " || l[0] === "\t" ? l : ` ${l}`
  );
  return [synopsis, ...rest].join("\n");
}

function checkHash(
  record: PackageRecord,
  field: string,
  value: string,
  pattern: RegExp,
): string {
  if (typeof value !== "string" || !pattern.test(value)) {
    throw new StanzaError(
      `Invalid ${describe(record)}: ${field} ${JSON.stringify(value)} is not a lowercase hex ` +
        "digest",
    );
  }
  return value;
}

/**
 * Splits a `Packages` (or any deb822) text into paragraphs of field → value,
 * values in the {@linkcode ControlFields} form (continuation lines kept with
 * their leading space). Field names keep their spelling.
 *
 * @throws {StanzaError} on a line that is neither a field nor a continuation
 * @example
 * ```ts
 * parseStanzas("Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\n");
 * // [{ Package: "a", Version: "1" }, { Package: "b", Version: "2" }]
 * ```
 */
export function parseStanzas(text: string): ControlFields[] {
  const out: ControlFields[] = [];
  let current: ControlFields | undefined;
  let last: string | undefined;
  let lineNo = 0;
  for (const raw of text.split("\n")) {
    lineNo++;
    const l = raw.replace(/\r$/, "");
    if (l.trim() === "") {
      current = undefined;
      last = undefined;
      continue;
    }
    if (l[0] === " " || l[0] === "\t") {
      if (current === undefined || last === undefined) {
        throw new StanzaError(`Invalid deb822 text: continuation line ${lineNo} has no field`);
      }
      current[last] += "\n" + l.replace(/[ \t]+$/, "");
      continue;
    }
    if (l[0] === "#") continue;
    const colon = l.indexOf(":");
    if (colon <= 0) {
      throw new StanzaError(`Invalid deb822 text: line ${lineNo} is not "Field: value"`);
    }
    if (current === undefined) {
      current = {};
      out.push(current);
    }
    last = l.slice(0, colon);
    current[last] = l.slice(colon + 1).trim();
  }
  return out;
}
