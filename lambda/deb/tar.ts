/**
 * The tar archives inside a `.deb`: reading (through `tar-stream`, which
 * knows ustar, GNU and pax headers) and a deterministic writer of GNU tar, the
 * format `dpkg-deb --build` writes.
 *
 * @module
 */

import { extract } from "tar-stream";
import { readAllBytes } from "../bytes.ts";

/** The kinds of entry {@linkcode writeTar} writes. */
export type TarEntryType = "file" | "directory" | "symlink";

/** An entry read from a tar archive. */
export interface TarEntry {
  /** The name as stored (`./control`, `control`, `./usr/bin/`…). */
  name: string;
  /** `tar-stream`'s type: `file`, `directory`, `symlink`, `link`, … */
  type: string;
  mode: number;
  size: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch. */
  mtime: number;
  /** Symlink or hard-link target, `""` otherwise. */
  linkname: string;
  /** Contents of a regular file; empty for other entries. */
  data: Uint8Array;
}

/** A tar archive that cannot be read. */
export class TarFormatError extends Error {
  /** @param message the full message; @param options the underlying error */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TarFormatError";
  }
}

/** Options of {@linkcode readTar}. */
export interface ReadTarOptions {
  /** What is being read, for error messages (e.g. `kiro.deb: control.tar.gz`). */
  name: string;
}

/**
 * Every entry of the tar archive `tar`, with the contents of its regular
 * files. Meant for small archives already in memory (a `.deb`'s control
 * member); memory use is about twice the archive's size.
 *
 * @throws {TarFormatError} for a corrupt or truncated archive.
 */
export async function readTar(tar: Uint8Array, options: ReadTarOptions): Promise<TarEntry[]> {
  const extractor = extract();
  const entries: TarEntry[] = [];
  const feed = (async () => {
    await Promise.resolve();
    extractor.end(tar);
  })();
  try {
    for await (const entry of extractor) {
      const data = await readAllBytes(entry as AsyncIterable<Uint8Array>);
      const header = entry.header;
      entries.push({
        name: header.name,
        type: header.type ?? "file",
        mode: header.mode ?? 0,
        size: header.size ?? data.byteLength,
        uid: header.uid ?? 0,
        gid: header.gid ?? 0,
        uname: header.uname ?? "",
        gname: header.gname ?? "",
        mtime: header.mtime instanceof Date ? Math.floor(header.mtime.getTime() / 1000) : 0,
        linkname: header.linkname ?? "",
        data,
      });
    }
    await feed;
  } catch (error) {
    throw new TarFormatError(
      `${options.name}: not a readable tar archive (${
        error instanceof Error ? error.message : String(error)
      }); the file is corrupt or truncated`,
      { cause: error },
    );
  }
  return entries;
}

/** The first header of a tar archive, as {@linkcode readTarHeader} reads it. */
export interface TarHeader {
  /** The name field as stored (GNU and pax long names are separate records). */
  name: string;
  /** The type flag (`0` file, `5` directory, `L` GNU long name, `x` pax, …). */
  typeflag: string;
}

/** The size of one tar block. */
export const TAR_BLOCK_BYTES = 512;

/**
 * Reads the header block at the start of `head` (the first bytes of an
 * archive): `undefined` when the block is all zeros (the end-of-archive
 * marker: the archive is empty).
 *
 * @throws {TarFormatError} naming `options.name` when `head` is shorter than a
 * block or its checksum does not match (the data is not a tar archive).
 */
export function readTarHeader(head: Uint8Array, options: ReadTarOptions): TarHeader | undefined {
  if (head.byteLength < TAR_BLOCK_BYTES) {
    throw new TarFormatError(
      `${options.name}: not a tar archive: it holds ${head.byteLength} bytes, less than one ` +
        `${TAR_BLOCK_BYTES}-byte header`,
    );
  }
  const block = head.subarray(0, TAR_BLOCK_BYTES);
  if (block.every((byte) => byte === 0)) return undefined;
  const text = (from: number, length: number) =>
    new TextDecoder().decode(block.subarray(from, from + length)).replace(/\0.*$/s, "");
  const stored = Number.parseInt(text(148, 8).trim(), 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < TAR_BLOCK_BYTES; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i] as number;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (!Number.isFinite(stored) || (stored !== unsigned && stored !== signed)) {
    throw new TarFormatError(
      `${options.name}: not a tar archive: its first header's checksum does not match`,
    );
  }
  return { name: text(0, 100), typeflag: text(156, 1) || "0" };
}

/** `./control`, `control` and `/control` all name `control`; directories lose their `/`. */
export function normalizeTarPath(name: string): string {
  return name.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
}

/** An entry to write with {@linkcode writeTar}. */
export interface TarWriteEntry {
  /** Path inside the archive, written as given (`./usr/bin/kiro`; directories may end in `/`). */
  path: string;
  type: TarEntryType;
  /** Permission bits, e.g. `0o755`. */
  mode: number;
  /** Contents of a file. */
  data?: Uint8Array;
  /** Target of a symlink. */
  linkTarget?: string;
}

/** Options of {@linkcode writeTar}. */
export interface WriteTarOptions {
  /** Modification time of every entry, seconds since the epoch. */
  mtime: number;
}

const BLOCK = 512;
const encoder = new TextEncoder();
// GNU tar's magic and version, as `dpkg-deb --build` writes them.
const GNU_MAGIC = encoder.encode("ustar  \0");
const GNU_LONGLINK = "././@LongLink";

function putString(block: Uint8Array, offset: number, length: number, bytes: Uint8Array): void {
  block.set(bytes.subarray(0, length), offset);
}

/** An octal field of `length` bytes: digits, then NUL; base-256 when too large (GNU). */
function putNumber(block: Uint8Array, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length <= length - 1) {
    putString(block, offset, length, encoder.encode(digits.padStart(length - 1, "0") + "\0"));
    return;
  }
  // GNU base-256: high bit of the first byte set, big-endian value in the rest.
  let rest = value;
  for (let i = offset + length - 1; i > offset; i--) {
    block[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  block[offset] = 0x80;
}

function header(
  fields: { name: Uint8Array; mode: number; size: number; mtime: number; typeflag: string },
  linkname: Uint8Array,
): Uint8Array {
  const block = new Uint8Array(BLOCK);
  putString(block, 0, 100, fields.name);
  putNumber(block, 100, 8, fields.mode);
  putNumber(block, 108, 8, 0);
  putNumber(block, 116, 8, 0);
  putNumber(block, 124, 12, fields.size);
  putNumber(block, 136, 12, fields.mtime);
  block.fill(0x20, 148, 156);
  block[156] = fields.typeflag.charCodeAt(0);
  putString(block, 157, 100, linkname);
  block.set(GNU_MAGIC, 257);
  putString(block, 265, 32, encoder.encode("root"));
  putString(block, 297, 32, encoder.encode("root"));
  let sum = 0;
  for (const byte of block) sum += byte;
  putString(block, 148, 8, encoder.encode(sum.toString(8).padStart(6, "0") + "\0 "));
  return block;
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/**
 * A GNU tar archive of `entries`, in the given order, deterministic: owner
 * `root:root` (uid and gid 0), every mtime `options.mtime`, names longer than
 * 100 bytes through `././@LongLink` records, two zero blocks at the end.
 *
 * @throws {RangeError} for an empty path, a file without data, or a symlink without target.
 */
export function writeTar(entries: readonly TarWriteEntry[], options: WriteTarOptions): Uint8Array {
  const { mtime } = options;
  if (!Number.isSafeInteger(mtime) || mtime < 0) {
    throw new RangeError(`Invalid tar mtime ${mtime}: use whole seconds since the epoch`);
  }
  const blocks: Uint8Array[] = [];
  let total = 0;
  const push = (bytes: Uint8Array, size = bytes.byteLength) => {
    blocks.push(bytes);
    total += padded(size);
  };
  for (const entry of entries) {
    if (entry.path === "") throw new RangeError("Invalid tar entry: empty path");
    let path = entry.path;
    if (entry.type === "directory" && !path.endsWith("/")) path += "/";
    const name = encoder.encode(path);
    const target = encoder.encode(entry.linkTarget ?? "");
    if (entry.type === "symlink" && target.byteLength === 0) {
      throw new RangeError(`Invalid tar entry ${path}: a symlink needs linkTarget`);
    }
    if (entry.type === "file" && entry.data === undefined) {
      throw new RangeError(`Invalid tar entry ${path}: a file needs data`);
    }
    const longRecord = (bytes: Uint8Array, typeflag: string) => {
      const withNul = new Uint8Array(bytes.byteLength + 1);
      withNul.set(bytes);
      push(header({
        name: encoder.encode(GNU_LONGLINK),
        mode: 0o644,
        size: withNul.byteLength,
        mtime: 0,
        typeflag,
      }, new Uint8Array(0)));
      push(withNul);
    };
    if (target.byteLength > 100) longRecord(target, "K");
    if (name.byteLength > 100) longRecord(name, "L");
    const data = entry.type === "file" ? entry.data as Uint8Array : new Uint8Array(0);
    const typeflag = entry.type === "file" ? "0" : entry.type === "directory" ? "5" : "2";
    push(
      header({ name, mode: entry.mode & 0o7777, size: data.byteLength, mtime, typeflag }, target),
    );
    if (data.byteLength > 0) push(data);
  }
  const out = new Uint8Array(total + 2 * BLOCK);
  let at = 0;
  for (const block of blocks) {
    out.set(block, at);
    at += padded(block.byteLength);
  }
  return out;
}
