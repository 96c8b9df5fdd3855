/**
 * Compression of index files: gzip (`Packages.gz`) and xz (`Packages.xz`).
 *
 * **gzip** uses the runtime's native zlib (`node:zlib`) at level 6, with no
 * file name and mtime 0 in the header. Its output is a pure function of the
 * input **within one runtime** (the Lambda always publishes under Node, the
 * `local` environment always under Deno), but NOT across runtimes: Deno's
 * `node:zlib` is a different deflate implementation from Node's, so the same
 * `Packages` gives different (equally valid) `.gz` bytes in each. Whatever
 * compares what one runtime published with what another regenerates must
 * compare the decompressed content and the Release hashes, not the
 * compressed bytes. (Until the perf pass, gzip was fflate, pure JavaScript,
 * for cross-runtime identical bytes; it cost 2× the CPU of native zlib and
 * could not leave the main thread, which made gzip the largest part of a
 * rebuild.) In Node, the asynchronous zlib call runs on the libuv thread
 * pool, so the architectures' `.gz` are compressed at once, on other cores,
 * while the main thread goes on; Deno's runs on the calling thread, so in
 * Deno an input of a megabyte or more is deflated in a Web Worker instead,
 * in slices that give the same bytes (`lambda/repo/gzip_stream.ts`). A large
 * index can also be gzipped while it is written (`lambda/repo/index_text.ts`).
 *
 * Measured on the 6.5 MB `Packages` (amd64) of the 10,000-package peer
 * corpus, CPU ms, medians of 5 (2-core machine shared with other jobs):
 *
 * | level | Deno 2.9 size | Deno CPU | Node 20 size | Node CPU | fflate size | fflate CPU |
 * | --- | --- | --- | --- | --- | --- | --- |
 * | 1 | 2.39 MB | 24 ms | 1.78 MB | 41 ms | 1.83 MB | 181 ms |
 * | 3 | 1.65 MB | 55 ms | 1.66 MB | 79 ms | – | – |
 * | 4 | 1.56 MB | 81 ms | 1.59 MB | 83 ms | – | – |
 * | 5 | 1.52 MB | 93 ms | 1.52 MB | 102 ms | – | – |
 * | **6** | **1.46 MB** | **137 ms** | **1.46 MB** | **185 ms** | 1.55 MB | 258 ms |
 * | 9 | 1.52 MB | 211 ms | 1.45 MB | 232 ms | 1.55 MB | 226 ms |
 *
 * Level 6 is the smallest output in Deno and within 1% of the smallest in
 * Node; apt fetches the `.xz` when both are listed, so `.gz` is the fallback
 * and a lower level would trade 7–60% more bytes for each client that uses
 * it against tens of milliseconds of one rebuild. {@linkcode GZIP_LEVEL} is 6.
 *
 * **xz** uses `@napi-rs/lzma` (a pure-Rust LZMA2 encoder behind N-API, with
 * prebuilt packages for linux-x64-gnu and linux-arm64-gnu — the Lambda's
 * platform — and a wasm32-wasi fallback) for the raw LZMA2 data, and wraps it
 * in the `.xz` container here (one block, CRC32 check: what `xz --check=crc32`
 * writes; apt, liblzma and `xz -t` accept it). Owning the container lets us
 * size the dictionary to the input: the encoder allocates and clears the whole
 * dictionary, which for a small index costs more than compressing it (a 3 KB
 * index: 1.5 ms instead of 15 ms; the property tests went from 42 s to 2 s).
 * It runs in Deno and in Node (same bytes in both). The encoder runs on a
 * native thread through the package's streaming entry (`compressStream`), so
 * the architectures' `.xz` are compressed in parallel, one core each, while
 * the main thread goes on. (The `Lzma2Compressor` class, used until the perf
 * pass, encodes inside its synchronous `update`, on the JavaScript thread:
 * the two 6.4 MB indexes of the 10,000-record bench took 2.2 s one after the
 * other, 1.2 s at once through the stream, same bytes.) Splitting one large
 * index into independent 2 MiB blocks would let a single changed
 * architecture use both cores too (measured: 0.67 s instead of 1.17 s for
 * 0.3% more bytes); not done, since Kiro's indexes are far smaller and the
 * Lambda's 2048 MB buy a little more than one vCPU (`infra/publisher.ts`).
 * Measured (before the dictionary cap below) on 6.4 MB of
 * the bench corpus's `Packages` and on 7.4 MB of Debian bookworm's own
 * (2-core machine shared with other jobs: CPU seconds, which the load
 * distorts less than wall time):
 *
 * | | corpus 6.4 MB | CPU | Debian 7.4 MB | CPU |
 * | --- | --- | --- | --- | --- |
 * | xz preset 0 | 1.63 MB | 0.35 s | 1.76 MB | – |
 * | xz preset 3 | 1.49 MB | 2.5 s | 1.65 MB | – |
 * | xz preset 4 | 1.25 MB | 3.8 s | 1.52 MB | 2.7 s |
 * | xz preset 6 | 1.13 MB | 4.3 s | 1.41 MB | 4.4 s |
 * | `xz -6` (liblzma CLI) | 1.13 MB | 4.8 s | 1.41 MB | – |
 * | gzip level 6 | 1.43 MB | 0.17 s | 1.83 MB | 0.2 s |
 *
 * Presets 0–3 use the encoder's fast mode and are no smaller than gzip,
 * which would make `Packages.xz` pointless; preset 4 is the first in normal
 * mode, 13–17% smaller than gzip, 7–10% larger than preset 6 for 12–40% less
 * CPU. {@linkcode DEFAULT_XZ_PRESET} is therefore 4; callers can ask for
 * another (`xzPreset`).
 *
 * The dictionary matters more than the preset. A `Packages` file's
 * redundancy is mostly local (field names, a package's neighbouring
 * versions), and the encoder's match finder slows down with the dictionary's
 * size, so {@linkcode XZ_DICTIONARY_CAP} caps it at 256 KiB. Measured (perf
 * pass) on 6.57 MB of the peer corpus's `Packages` (amd64) and on the first
 * 6.50 MB of Debian bookworm's `main/binary-amd64/Packages`, CPU medians of 3,
 * same shared machine (±20% between runs):
 *
 * | preset / dictionary | corpus size | CPU | Debian size | CPU |
 * | --- | --- | --- | --- | --- |
 * | 4 / 8 MiB (before) | 1.281 MB | 2.3–2.9 s | 1.339 MB | 2.6–2.7 s |
 * | 4 / 1 MiB | 1.293 MB | 1.9–2.2 s | 1.365 MB | 1.8 s |
 * | 4 / 512 KiB | 1.300 MB | 1.85 s | 1.386 MB | 1.4 s |
 * | **4 / 256 KiB** | **1.304 MB** | **1.1–1.8 s** | **1.411 MB** | **0.9 s** |
 * | 4 / 64 KiB | 1.298 MB | 0.9–1.2 s | 1.471 MB | 0.9 s |
 * | 5 / 256 KiB | 1.221 MB | 2.4 s | 1.362 MB | 1.5 s |
 * | 6 / 256 KiB | 1.194 MB | 2.5 s | 1.347 MB | 1.7 s |
 * | 6 / 1 MiB | 1.169 MB | 3.7 s | 1.286 MB | 2.7 s |
 * | `xz -6` (liblzma, 8 MiB) | 1.13 MB | 4.8 s | 1.248 MB | 3.3 s |
 * | gzip -6 (Deno zlib) | 1.465 MB | 0.14 s | 1.613 MB | – |
 *
 * Preset 4 with 256 KiB costs a quarter to a third of `xz -6`'s CPU (what
 * the peers run) for 13–15% more bytes, and is still 11–13% smaller than
 * gzip; preset 6 with 256 KiB is the choice for smaller files at half of
 * `xz -6`'s CPU. At Kiro's scale (hundreds of versions, a `Packages` of a
 * few hundred KB) any choice takes well under a second; at 10,000 versions
 * xz still dominates the rebuild, as it does for the peers.
 *
 * Both functions memoize their last results by the SHA-256 of the input: the
 * output is a pure function of input and level, so a warm Lambda that
 * re-signs an unchanged repository, or a rebuild in which only one
 * architecture changed, compresses only what changed.
 *
 * @module
 */

import { gzip as zlibGzip } from "node:zlib";
import { lzma2 } from "@napi-rs/lzma";
import { sha256Hex } from "../hashing.ts";
import { GZIP_SLICE, gzipStream } from "./gzip_stream.ts";

/** The gzip level of `Packages.gz`. */
export const GZIP_LEVEL = 6;
/** The xz preset of `Packages.xz` (see the module notes for the measurements). */
export const DEFAULT_XZ_PRESET = 4;
/**
 * The largest xz dictionary (bytes) used by default, whatever the preset:
 * 256 KiB (see the module notes: half the CPU or less of a dictionary sized
 * to the input, for 2–5% more bytes).
 */
export const XZ_DICTIONARY_CAP = 256 * 1024;

const MEMO_SIZE = 8;
const memo = new Map<string, Uint8Array>();

function remembered(key: string): Uint8Array | undefined {
  const hit = memo.get(key);
  if (hit !== undefined) {
    memo.delete(key);
    memo.set(key, hit);
  }
  return hit;
}

function remember(key: string, bytes: Uint8Array): void {
  memo.set(key, bytes);
  while (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
}

function memoKey(kind: string, level: number, data: Uint8Array, sha256?: string): string {
  const digest = sha256 ?? sha256Hex(data);
  return `${kind}:${level}:${data.length}:${digest}`;
}

/** Options of {@linkcode gzip} and {@linkcode xzCompress}. */
export interface CompressOptions {
  /** The hex SHA-256 of `data`, when the caller has it (saves hashing it again for the memo). */
  sha256?: string;
}

/**
 * gzip of `data` at {@linkcode GZIP_LEVEL} (or `level`), deterministic within
 * one runtime: no file name, mtime 0 (the bytes differ between Node and Deno;
 * see the module notes). It runs off the main thread in Node, and in Deno
 * for an input of {@linkcode GZIP_SLICE} bytes or more.
 *
 * @throws {RangeError} (as a rejection) when `level` is not an integer from 0 to 9
 *
 * @example
 * ```ts
 * const gz = await gzip(new TextEncoder().encode("Package: kiro\n"));
 * ```
 */
export function gzip(
  data: Uint8Array,
  options: CompressOptions & { level?: number } = {},
): Promise<Uint8Array> {
  const level = options.level ?? GZIP_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    return Promise.reject(
      new RangeError(`Invalid gzip level ${level}: use an integer from 0 to 9`),
    );
  }
  const key = memoKey("gz", level, data, options.sha256);
  const hit = remembered(key);
  if (hit !== undefined) return Promise.resolve(hit);
  const compressed = typeof Worker === "function" && data.length >= GZIP_SLICE
    ? inWorker(data, level)
    : onThreadPool(data, level);
  return compressed.then((out) => {
    remember(key, out);
    return out;
  });
}

/** Deno: a large input is deflated in a worker, in slices (same bytes; `gzip_stream.ts`). */
function inWorker(data: Uint8Array, level: number): Promise<Uint8Array> {
  const stream = gzipStream({ level });
  for (let at = 0; at < data.length; at += GZIP_SLICE) {
    stream.write(data.subarray(at, at + GZIP_SLICE));
  }
  return stream.finish();
}

/** Node: the thread pool; Deno (a small input): the calling thread. */
function onThreadPool(data: Uint8Array, level: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // Output chunks of up to 1 MiB rather than zlib's 16 KiB: in Node each
    // chunk is one trip between the thread pool and the main thread (a 6.5 MB
    // Packages: 2 arches 230-255 -> 170-190 ms wall). The chunk size is a
    // function of the input's size only, so the output stays deterministic.
    const chunkSize = Math.min(Math.max(data.length, 64 * 1024), 1024 * 1024);
    zlibGzip(data, { level, chunkSize }, (error, buffer) => {
      if (error !== null) {
        reject(error);
        return;
      }
      resolve(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
    });
  });
}

/**
 * xz of `data` at {@linkcode DEFAULT_XZ_PRESET} (or `preset`, 0–9), with a
 * dictionary no larger than the input, the preset's, and
 * {@linkcode XZ_DICTIONARY_CAP} (or `dictionaryCap`): one `.xz` stream with a
 * CRC32 check, deterministic.
 *
 * @throws {RangeError} when `preset` is not an integer from 0 to 9, or
 *   `dictionaryCap` not a power of two from 4 KiB to 1 GiB
 * @example
 * ```ts
 * const xz = await xzCompress(new TextEncoder().encode("Package: kiro\n"));
 * ```
 */
export async function xzCompress(
  data: Uint8Array,
  options: CompressOptions & { preset?: number; dictionaryCap?: number } = {},
): Promise<Uint8Array> {
  const preset = options.preset ?? DEFAULT_XZ_PRESET;
  if (!Number.isInteger(preset) || preset < 0 || preset > 9) {
    throw new RangeError(`Invalid xz preset ${preset}: use an integer from 0 to 9`);
  }
  const cap = options.dictionaryCap ?? XZ_DICTIONARY_CAP;
  if (!Number.isInteger(Math.log2(cap)) || cap < 4096 || cap > 2 ** 30) {
    throw new RangeError(
      `Invalid xz dictionaryCap ${cap}: use a power of two from 4096 to 2 ** 30`,
    );
  }
  const dictSize = dictionaryFor(data.length, preset, cap);
  const key = memoKey(`xz/${dictSize}`, preset, data, options.sha256);
  const hit = remembered(key);
  if (hit !== undefined) return hit;
  // The streaming entry runs the encoder on a native thread; the
  // `Lzma2Compressor` class's `update` would run it on this one.
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(data);
      controller.close();
    },
  });
  const lzma2Parts: Uint8Array[] = [];
  for await (const part of lzma2.compressStream(input, { preset, dictSize })) {
    lzma2Parts.push(part);
  }
  const out = xzContainer(data, lzma2Parts, dictSize);
  remember(key, out);
  return out;
}

/** Dictionary size of each xz preset (liblzma's and lzma-rust2's). */
const PRESET_DICTIONARY = [18, 20, 21, 22, 22, 23, 23, 24, 25, 26].map((bits) => 2 ** bits);

/**
 * The smallest power of two (at least 4 KiB) that holds the whole input,
 * capped at the preset's own dictionary and at `cap`
 * ({@linkcode XZ_DICTIONARY_CAP} by default). A dictionary larger than the
 * input cannot find more matches, but the encoder still allocates and clears
 * it: for a small index this is most of the time (3 KB at preset 4: 1.5 ms
 * instead of 15 ms).
 */
function dictionaryFor(size: number, preset: number, cap: number): number {
  let dict = 4096;
  const limit = Math.min(PRESET_DICTIONARY[preset]!, cap);
  while (dict < size && dict < limit) dict *= 2;
  return dict;
}

const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u32le(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** The xz format's variable-length integer (7 bits a byte, least significant first). */
function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function withCrc32(bytes: number[]): number[] {
  return [...bytes, ...u32le(crc32(new Uint8Array(bytes)))];
}

const padding = (n: number): number[] => new Array((4 - (n % 4)) % 4).fill(0);

/**
 * Wraps raw LZMA2 data in a single-block `.xz` stream (xz file format 1.0.4):
 * stream header, one block (LZMA2 filter with `dictSize`), CRC32 check of the
 * uncompressed data, index, stream footer.
 */
function xzContainer(data: Uint8Array, lzma2: readonly Uint8Array[], dictSize: number): Uint8Array {
  const CHECK_CRC32 = 0x01;
  const flags = [0x00, CHECK_CRC32];
  const streamHeader = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, ...withCrc32(flags)];
  // Dictionary size byte: dictSize = 2 ** (12 + byte / 2) for the powers of two used here.
  const dictByte = 2 * (Math.log2(dictSize) - 12);
  const filterFlags = [0x21, 0x01, dictByte];
  const headerBody = [0x00, ...filterFlags]; // block flags: one filter, no sizes
  const headerLength = 1 + headerBody.length + padding(1 + headerBody.length).length + 4;
  const blockHeader = withCrc32([
    headerLength / 4 - 1,
    ...headerBody,
    ...padding(1 + headerBody.length),
  ]);
  const compressedSize = lzma2.reduce((n, part) => n + part.length, 0);
  const check = u32le(crc32(data));
  const unpaddedSize = blockHeader.length + compressedSize + check.length;
  const indexBody = [0x00, ...varint(1), ...varint(unpaddedSize), ...varint(data.length)];
  const index = withCrc32([...indexBody, ...padding(indexBody.length)]);
  const backward = [...u32le(index.length / 4 - 1), ...flags];
  const footer = [...u32le(crc32(new Uint8Array(backward))), ...backward, 0x59, 0x5a];

  const parts: (readonly number[] | Uint8Array)[] = [
    streamHeader,
    blockHeader,
    ...lzma2,
    padding(compressedSize),
    check,
    index,
    footer,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
