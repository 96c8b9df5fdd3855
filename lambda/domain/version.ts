/**
 * Debian version strings: parsing, validation and dpkg's ordering.
 *
 * A version is `[epoch:]upstream[-revision]`. The order is dpkg's own
 * (`dpkg --compare-versions`, lib/dpkg/version.c): epochs compare as numbers,
 * then the upstream parts and then the revisions compare with the "verrevcmp"
 * algorithm — alternating runs of non-digits (compared character by character,
 * where `~` sorts before everything, even the end of the string, and letters
 * sort before every other character) and runs of digits (compared as numbers,
 * so leading zeros do not count). It is never a string or integer-tuple order:
 * `1.9.0 < 1.10.0`, `1.0~rc1 < 1.0`, `1:0.1 > 2.0`.
 *
 * @module
 */

/** The three parts of a Debian version. */
export interface ParsedVersion {
  /** The epoch, 0 when the version has none. */
  epoch: number;
  /** The upstream version (between the epoch's `:` and the last `-`). */
  upstream: string;
  /** The Debian revision (after the last `-`), `""` when there is none. */
  revision: string;
}

/** A version string that dpkg itself refuses to parse. */
export class VersionError extends Error {
  /** The version string that was refused. */
  readonly version: string;
  constructor(version: string, reason: string) {
    super(`Invalid Debian version ${JSON.stringify(version)}: ${reason}`);
    this.name = "VersionError";
    this.version = version;
  }
}

const INT_MAX = 2147483647;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isBlank = (c: string): boolean => c === " " || c === "\t";

/** Splits a version the way dpkg does; returns the hard error's reason or the parts. */
function split(version: string): ParsedVersion | string {
  let start = 0;
  let end = version.length;
  while (start < end && isBlank(version[start]!)) start++;
  while (end > start && isBlank(version[end - 1]!)) end--;
  const text = version.slice(start, end);
  if (text === "") return "version string is empty";
  if (/[ \t]/.test(text)) return "version string has embedded spaces";
  let rest = text;
  let epoch = 0;
  const colon = text.indexOf(":");
  if (colon >= 0) {
    const epochText = text.slice(0, colon);
    if (epochText === "") return "epoch in version is empty";
    if (!/^[0-9]+$/.test(epochText)) return "epoch in version is not number";
    epoch = Number(epochText);
    if (epoch > INT_MAX) return "epoch in version is too big";
    rest = text.slice(colon + 1);
    if (rest === "") return "nothing after colon in version number";
  }
  let upstream = rest;
  let revision = "";
  const hyphen = rest.lastIndexOf("-");
  if (hyphen >= 0) {
    upstream = rest.slice(0, hyphen);
    revision = rest.slice(hyphen + 1);
    if (revision === "") return "revision number is empty";
  }
  if (upstream === "") return "version number is empty";
  return { epoch, upstream, revision };
}

/**
 * Splits `[epoch:]upstream[-revision]` into its parts, as dpkg does: the epoch
 * ends at the first `:`, the revision starts after the last `-`.
 *
 * Like dpkg's parser it only refuses what it cannot split (empty, embedded
 * white space, a bad epoch, an empty upstream or revision); use
 * {@linkcode isValidVersion} for the full syntax check.
 *
 * @throws {VersionError} when dpkg would refuse the string outright
 * @example
 * ```ts
 * parseVersion("1:2.0~rc1-3"); // { epoch: 1, upstream: "2.0~rc1", revision: "3" }
 * ```
 */
export function parseVersion(version: string): ParsedVersion {
  const parts = split(version);
  if (typeof parts === "string") throw new VersionError(version, parts);
  return parts;
}

/**
 * Why `version` is not a valid Debian version, or `null` when it is valid.
 *
 * Valid means: an optional epoch of digits followed by `:`; an upstream part
 * that starts with a digit and holds only letters, digits and `. + ~` (plus
 * `-` when there is a revision, and `:` when there is an epoch); an optional
 * revision after the last `-` holding only letters, digits and `. + ~`; no
 * white space. These are dpkg's rules, errors and warnings alike.
 *
 * @example
 * ```ts
 * versionError("v1.0"); // "version number does not start with digit"
 * versionError("1.0"); // null
 * ```
 */
export function versionError(version: string): string | null {
  if (/[ \t\n\r]/.test(version)) {
    return version.trim() === "" ? "version string is empty" : "version string has white space";
  }
  const parts = split(version);
  if (typeof parts === "string") return parts;
  const { upstream, revision } = parts;
  if (!isDigit(upstream.charCodeAt(0))) return "version number does not start with digit";
  for (let i = 1; i < upstream.length; i++) {
    const c = upstream.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c) && !".-+~:".includes(upstream[i]!)) {
      return `invalid character ${JSON.stringify(upstream[i])} in version number`;
    }
  }
  for (let i = 0; i < revision.length; i++) {
    const c = revision.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c) && !".+~".includes(revision[i]!)) {
      return `invalid character ${JSON.stringify(revision[i])} in revision number`;
    }
  }
  return null;
}

/**
 * Whether `version` is a valid Debian version (see {@linkcode versionError}).
 *
 * @example
 * ```ts
 * isValidVersion("1:1.0.337-1"); // true
 * isValidVersion("latest"); // false
 * ```
 */
export function isValidVersion(version: string): boolean {
  return versionError(version) === null;
}

/** dpkg's weight of one character of a non-digit run (0 is the end of the string). */
function order(text: string, i: number): number {
  if (i >= text.length) return 0;
  const c = text.charCodeAt(i);
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1; // "~"
  return c + 256;
}

/** dpkg's verrevcmp: compares two upstream parts or two revisions. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (
      (i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))
    ) {
      const ac = order(a, i);
      const bc = order(b, j);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    let firstDiff = 0;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/**
 * Compares two Debian versions exactly as `dpkg --compare-versions` does.
 *
 * Returns -1 when `a` sorts before `b`, 1 when after, and 0 when dpkg holds
 * them equal (which includes `1.0` and `1.0-0`, or `0:1.0` and `1.0`).
 *
 * @throws {VersionError} when either string cannot be parsed at all
 * @example
 * ```ts
 * compareVersions("1.9.0", "1.10.0"); // -1
 * compareVersions("1.0~rc1", "1.0"); // -1
 * compareVersions("1:0.1", "2.0"); // 1
 * ```
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  return compareParsedVersions(parseVersion(a), parseVersion(b));
}

/**
 * {@linkcode compareVersions} for versions already parsed with
 * {@linkcode parseVersion} (to sort many versions without parsing each one at
 * every comparison).
 *
 * @example
 * ```ts
 * compareParsedVersions(parseVersion("1.0~rc1"), parseVersion("1.0")); // -1
 * ```
 */
export function compareParsedVersions(va: ParsedVersion, vb: ParsedVersion): -1 | 0 | 1 {
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  const upstream = verrevcmp(va.upstream, vb.upstream);
  if (upstream !== 0) return upstream < 0 ? -1 : 1;
  const revision = verrevcmp(va.revision, vb.revision);
  return revision < 0 ? -1 : revision > 0 ? 1 : 0;
}

/**
 * The highest of `versions` in dpkg order, or `undefined` for an empty list.
 * Of versions that dpkg holds equal, the first one given wins.
 *
 * @throws {VersionError} when a string cannot be parsed at all
 * @example
 * ```ts
 * latestVersion(["1.9.0", "1.10.0", "1.10.0~rc1"]); // "1.10.0"
 * ```
 */
export function latestVersion(versions: Iterable<string>): string | undefined {
  let latest: string | undefined;
  for (const version of versions) {
    if (latest === undefined) {
      parseVersion(version);
      latest = version;
    } else if (compareVersions(version, latest) > 0) latest = version;
  }
  return latest;
}

/**
 * One run-by-run rendering of an upstream part or a revision, in the form
 * {@linkcode canonicalVersion} gives every member of a dpkg equality class:
 * digit runs without leading zeros, and a zero last digit run written `0`
 * after a non-letter (`1.` → `1.0`) and dropped after a letter (`1.0a0` →
 * `1.0a`). Non-digit runs are kept as they are: dpkg compares them character
 * by character, so only identical runs are equal.
 */
function canonicalPart(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const nonDigitStart = i;
    while (i < text.length && !isDigit(text.charCodeAt(i))) i++;
    const nonDigit = text.slice(nonDigitStart, i);
    const digitStart = i;
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
    const digits = text.slice(digitStart, i).replace(/^0+/, "");
    out += nonDigit;
    if (digits !== "") out += digits;
    else if (i < text.length) out += "0";
    else {
      // The last run, zero-valued (or empty): one spelling for the class.
      const last = nonDigit.charCodeAt(nonDigit.length - 1);
      if (nonDigit === "" || !isAlpha(last)) out += "0";
    }
  }
  return out;
}

/**
 * The one spelling of `version` shared by every version that
 * `dpkg --compare-versions` holds equal to it: `1.0`, `1.0-0`, `1.00`,
 * `0:1.0` and `00:1.0-00` are all `1.0`. Versions written the usual way (no
 * leading zeros, no `0:` epoch, no `-0` revision) are their own canonical
 * form, so `canonicalVersion(a) === canonicalVersion(b)` exactly when
 * `compareVersions(a, b) === 0`. The packages table keys a version by it
 * (`docs/architecture.md`, "Identity").
 *
 * A zero epoch is kept when the upstream part (or a revision dpkg accepts
 * with a warning) holds a `:`, and a zero revision is kept (`-0`) when the
 * upstream part holds a `-`, so that the canonical form splits into the same
 * parts again.
 *
 * @throws {VersionError} when dpkg would refuse the string outright
 * @example
 * ```ts
 * canonicalVersion("0:1.00-0"); // "1.0"
 * canonicalVersion("1.0.337"); // "1.0.337"
 * canonicalVersion("2:1.0~rc01-1"); // "2:1.0~rc1-1"
 * ```
 */
export function canonicalVersion(version: string): string {
  const { epoch, upstream, revision } = parseVersion(version);
  const up = canonicalPart(upstream);
  const rev = /^0*$/.test(revision) ? "" : canonicalPart(revision);
  // A `:` anywhere after the epoch (the upstream part, or a revision dpkg
  // accepts with a warning) would be read as the epoch's end without one.
  const epochText = epoch !== 0 || up.includes(":") || rev.includes(":") ? `${epoch}:` : "";
  const revisionText = rev !== "" ? `-${rev}` : up.includes("-") ? "-0" : "";
  return `${epochText}${up}${revisionText}`;
}
