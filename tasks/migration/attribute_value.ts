/**
 * DynamoDB items in their exact wire form (`AttributeValue` maps), encoded as
 * DynamoDB JSON for backups, compared by value, and shown to operators.
 *
 * The migration never converts items to plain JavaScript values and back: a
 * number stays the decimal text DynamoDB holds (no float rounding), a set stays
 * a set, binary stays bytes. The JSON encoding is the one the AWS CLI and
 * DynamoDB's export to S3 use: `{"S": "…"}`, `{"N": "1.50"}`, binary as
 * base64, `{"NULL": true}`, and so on.
 *
 * @module
 */

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { Buffer } from "node:buffer";

/** One DynamoDB item: attribute name → value, as the low-level client returns it. */
export type Item = Record<string, AttributeValue>;

/** A DynamoDB JSON value (what `JSON.parse` gives for one encoded attribute value). */
export type AttributeJson =
  | { S: string }
  | { N: string }
  | { B: string }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] }
  | { M: Record<string, AttributeJson> }
  | { L: AttributeJson[] }
  | { NULL: true }
  | { BOOL: boolean };

/** An item in DynamoDB JSON. */
export type ItemJson = Record<string, AttributeJson>;

/** Thrown when a value is not a well-formed DynamoDB JSON attribute value. */
export class AttributeFormatError extends Error {
  /** Where in the item the bad value is, e.g. `control.M.Package`. */
  readonly path: string;

  /** Builds the error for the value at `path`. */
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "AttributeFormatError";
    this.path = path;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function bytesOf(text: string, path: string): Uint8Array {
  if (!BASE64.test(text)) throw new AttributeFormatError(path, "binary value is not base64");
  return new Uint8Array(Buffer.from(text, "base64"));
}

function numberText(value: unknown, path: string): string {
  if (typeof value !== "string" || !NUMBER.test(value)) {
    throw new AttributeFormatError(path, 'number must be decimal text such as "42" or "1.5"');
  }
  return value;
}

/**
 * Encodes one attribute value as DynamoDB JSON (binary as base64).
 *
 * @example
 * ```ts
 * encodeValue({ N: "1.50" }); // { N: "1.50" }
 * encodeValue({ B: new Uint8Array([1, 2]) }); // { B: "AQI=" }
 * ```
 */
export function encodeValue(value: AttributeValue): AttributeJson {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.SS !== undefined) return { SS: [...value.SS] };
  if (value.NS !== undefined) return { NS: [...value.NS] };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: encodeItem(value.M) };
  if (value.L !== undefined) return { L: value.L.map(encodeValue) };
  if (value.NULL !== undefined) return { NULL: true };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  throw new AttributeFormatError("(value)", "attribute value has no known type");
}

/** Encodes an item as DynamoDB JSON, attribute by attribute. */
export function encodeItem(item: Item): ItemJson {
  // fromEntries defines own properties, so an attribute named `__proto__` stays an attribute.
  return Object.fromEntries(
    Object.entries(item).map(([name, value]) => [name, encodeValue(value)]),
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringArray(value: unknown, path: string, what: string): string[] {
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string")) {
    throw new AttributeFormatError(path, `${what} must be an array of strings`);
  }
  if (value.length === 0) throw new AttributeFormatError(path, `${what} must not be empty`);
  if (new Set(value).size !== value.length) {
    throw new AttributeFormatError(path, `${what} has duplicate members`);
  }
  return value as string[];
}

/**
 * Decodes one DynamoDB JSON attribute value, checking its shape strictly.
 *
 * @throws {AttributeFormatError} naming `path` when the value is malformed.
 */
export function decodeValue(json: unknown, path: string): AttributeValue {
  if (!isRecord(json)) throw new AttributeFormatError(path, "attribute value must be an object");
  const keys = Object.keys(json);
  if (keys.length !== 1) {
    throw new AttributeFormatError(path, "attribute value must have exactly one type key");
  }
  const type = keys[0] as string;
  const raw = json[type];
  switch (type) {
    case "S":
      if (typeof raw !== "string") throw new AttributeFormatError(path, "S must be a string");
      return { S: raw };
    case "N":
      return { N: numberText(raw, path) };
    case "B":
      if (typeof raw !== "string") throw new AttributeFormatError(path, "B must be base64 text");
      return { B: bytesOf(raw, path) };
    case "SS":
      return { SS: stringArray(raw, path, "SS") };
    case "NS":
      return {
        NS: stringArray(raw, path, "NS").map((entry, i) => numberText(entry, `${path}[${i}]`)),
      };
    case "BS":
      return {
        BS: stringArray(raw, path, "BS").map((entry, i) => bytesOf(entry, `${path}[${i}]`)),
      };
    case "M":
      if (!isRecord(raw)) throw new AttributeFormatError(path, "M must be an object");
      return { M: decodeItem(raw, `${path}.`) };
    case "L":
      if (!Array.isArray(raw)) throw new AttributeFormatError(path, "L must be an array");
      return { L: raw.map((entry, i) => decodeValue(entry, `${path}[${i}]`)) };
    case "NULL":
      if (raw !== true) throw new AttributeFormatError(path, "NULL must be true");
      return { NULL: true };
    case "BOOL":
      if (typeof raw !== "boolean") throw new AttributeFormatError(path, "BOOL must be a boolean");
      return { BOOL: raw };
    default:
      throw new AttributeFormatError(path, `unknown attribute type ${JSON.stringify(type)}`);
  }
}

/**
 * Decodes an item from DynamoDB JSON.
 *
 * @param prefix prepended to attribute names in error paths.
 * @throws {AttributeFormatError} when any attribute value is malformed.
 */
export function decodeItem(json: unknown, prefix = ""): Item {
  if (!isRecord(json)) {
    throw new AttributeFormatError(prefix === "" ? "(item)" : prefix, "item must be an object");
  }
  return Object.fromEntries(
    Object.entries(json).map(([name, value]) => [name, decodeValue(value, `${prefix}${name}`)]),
  );
}

/**
 * The canonical text of a DynamoDB number: DynamoDB compares numbers by value
 * (`1.50` = `1.5` = `15e-1`), and may return a number in a normalized form.
 */
export function canonicalNumber(text: string): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (match === null) return text;
  const sign = match[1] === "-" ? "-" : "";
  const fraction = match[3] ?? "";
  let digits = `${match[2] ?? ""}${fraction}`.replace(/^0+/, "");
  let exponent = Number(match[4] ?? "0") - fraction.length;
  if (digits === "") return "0";
  const trimmed = digits.replace(/0+$/, "");
  exponent += digits.length - trimmed.length;
  digits = trimmed;
  return `${sign}${digits}e${exponent}`;
}

type Canonical = string | boolean | null | Canonical[] | { [key: string]: Canonical };

function canonical(value: AttributeValue): Canonical {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: canonicalNumber(value.N) };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.SS !== undefined) return { SS: [...new Set(value.SS)].sort() };
  if (value.NS !== undefined) return { NS: [...new Set(value.NS.map(canonicalNumber))].sort() };
  if (value.BS !== undefined) return { BS: [...new Set(value.BS.map(base64))].sort() };
  if (value.M !== undefined) return { M: canonicalItem(value.M) };
  if (value.L !== undefined) return { L: value.L.map(canonical) };
  if (value.NULL !== undefined) return { NULL: true };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  return null;
}

function canonicalItem(item: Item): { [key: string]: Canonical } {
  return Object.fromEntries(
    Object.keys(item).sort().map((name) => [name, canonical(item[name] as AttributeValue)]),
  );
}

/**
 * A stable text for an item's value: equal for two items exactly when
 * DynamoDB considers them equal (numbers by value, sets unordered, map
 * attributes in any order).
 */
export function itemFingerprint(item: Item): string {
  return JSON.stringify(canonicalItem(item));
}

/** Whether two items hold the same value (see {@linkcode itemFingerprint}). */
export function itemsEqual(a: Item, b: Item): boolean {
  return itemFingerprint(a) === itemFingerprint(b);
}

/**
 * The names of the top-level attributes whose values differ between `a` and
 * `b` (present in one only, or with different values), sorted.
 */
export function differingAttributes(a: Item, b: Item): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((name) => {
    const left = a[name];
    const right = b[name];
    if (left === undefined || right === undefined) return true;
    return JSON.stringify(canonical(left)) !== JSON.stringify(canonical(right));
  }).sort();
}

function plainValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) {
    const number = Number(value.N);
    return Number.isSafeInteger(number) || String(number) === value.N ? number : value.N;
  }
  if (value.B !== undefined) return `<binary ${value.B.byteLength} bytes>`;
  if (value.SS !== undefined) return { set: value.SS };
  if (value.NS !== undefined) return { set: value.NS.map(Number) };
  if (value.BS !== undefined) return { set: value.BS.map((b) => `<binary ${b.byteLength} bytes>`) };
  if (value.M !== undefined) return plainItem(value.M);
  if (value.L !== undefined) return value.L.map(plainValue);
  if (value.NULL !== undefined) return null;
  if (value.BOOL !== undefined) return value.BOOL;
  return undefined;
}

/**
 * An item as plain JSON for people to read (numbers as numbers, sets as
 * `{set: […]}`, binary as its size). For display only: not reversible.
 */
export function plainItem(item: Item): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(item).sort().map((name) => [name, plainValue(item[name] as AttributeValue)]),
  );
}

/** The approximate stored size of an item in bytes (names + values), as DynamoDB counts it. */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += new TextEncoder().encode(name).byteLength + valueSize(value);
  }
  return size;
}

function valueSize(value: AttributeValue): number {
  const text = (s: string) => new TextEncoder().encode(s).byteLength;
  if (value.S !== undefined) return text(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.length / 2) + 1;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + text(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
  if (value.BS !== undefined) return value.BS.reduce((n, b) => n + b.byteLength, 0);
  if (value.M !== undefined) return 3 + itemSize(value.M) + Object.keys(value.M).length;
  if (value.L !== undefined) return 3 + value.L.reduce((n, v) => n + 1 + valueSize(v), 0);
  return 1;
}
