/**
 * Compression of index files: gzip (`Packages.gz`) and xz (`Packages.xz`).
 *
 * **gzip** uses `node:zlib` at level 9 with no file name and mtime 0 in the
 * header, so the same input always gives the same bytes on a given runtime.
 * Measured on a 7.3 MB `Packages` (10,000-file bench corpus) and on 7.4 MB of
 * Debian bookworm's own `Packages`: under Node 20/22 (the Lambda) level 9 is
 * 0.4–0.7% smaller than level 6 at about the same time (0.3–0.6 s); under
 * Deno, whose `node:zlib` is a different implementation, level 9 is ~5%
 * larger than 6. The bytes therefore differ between Deno and Node, but each
 * runtime is deterministic, and the Lambda (Node) is the one that publishes.
 *
 * **xz** uses `@napi-rs/lzma` (a pure-Rust LZMA2 encoder behind N-API, with
 * prebuilt packages for linux-x64-gnu and linux-arm64-gnu — the Lambda's
 * platform — and a wasm32-wasi fallback). It writes a standard `.xz` stream
 * (one LZMA2 block, CRC64 check) that apt, `xz -t` and liblzma accept. It
 * runs in Deno and in Node. Measured on the same two files (2-core machine
 * shared with other jobs, so times are ±50%):
 *
 * | preset | bench corpus 7.3 MB | Debian 7.4 MB | time |
 * | --- | --- | --- | --- |
 * | 0 | 2.14 MB | 1.76 MB | 0.6–0.9 s |
 * | 3 | 2.00 MB | 1.65 MB | 2.5–3.2 s |
 * | 4 | 1.67 MB | 1.51 MB | 2.1–4.0 s |
 * | 5 | 1.59 MB | 1.44 MB | 4.1–6.2 s |
 * | 6 | 1.55 MB | 1.41 MB | 5.2–11 s |
 * | gzip -9 | 1.92–2.04 MB | 1.81–1.90 MB | 0.3 s |
 *
 * Presets 0–3 use the encoder's fast mode and are hardly smaller than gzip,
 * which would make `Packages.xz` pointless; preset 4 is the first in normal
 * mode, about 18% smaller than gzip and 7% larger than 6, at half of 6's cost.
 * {@linkcode DEFAULT_XZ_PRESET} is therefore 4; callers can ask for another.
 *
 * Both functions memoize their last results by the SHA-256 of the input: the
 * output is a pure function of input and level, so a warm Lambda that
 * re-signs an unchanged repository, or a rebuild in which only one
 * architecture changed, compresses only what changed.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { XzCompressor } from "@napi-rs/lzma";

/** The gzip level of `Packages.gz`. */
export const GZIP_LEVEL = 9;
/** The xz preset of `Packages.xz` (see the module notes for the measurements). */
export const DEFAULT_XZ_PRESET = 4;

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

function memoKey(kind: string, level: number, data: Uint8Array): string {
  return `${kind}:${level}:${data.length}:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * gzip of `data` at {@linkcode GZIP_LEVEL} (or `level`), deterministic: no
 * file name, mtime 0.
 *
 * @example
 * ```ts
 * const gz = gzip(new TextEncoder().encode("Package: kiro\n"));
 * ```
 */
export function gzip(data: Uint8Array, options: { level?: number } = {}): Uint8Array {
  const level = options.level ?? GZIP_LEVEL;
  const key = memoKey("gz", level, data);
  const hit = remembered(key);
  if (hit !== undefined) return hit;
  const out = new Uint8Array(gzipSync(data, { level }));
  remember(key, out);
  return out;
}

/**
 * xz of `data` at {@linkcode DEFAULT_XZ_PRESET} (or `preset`, 0–9): one
 * `.xz` stream with a CRC64 check, deterministic.
 *
 * @throws {RangeError} when `preset` is not an integer from 0 to 9
 * @example
 * ```ts
 * const xz = await xzCompress(new TextEncoder().encode("Package: kiro\n"));
 * ```
 */
export async function xzCompress(
  data: Uint8Array,
  options: { preset?: number } = {},
): Promise<Uint8Array> {
  const preset = options.preset ?? DEFAULT_XZ_PRESET;
  if (!Number.isInteger(preset) || preset < 0 || preset > 9) {
    throw new RangeError(`Invalid xz preset ${preset}: use an integer from 0 to 9`);
  }
  const key = memoKey("xz", preset, data);
  const hit = remembered(key);
  if (hit !== undefined) return hit;
  const encoder = new XzCompressor({ preset });
  const head = encoder.update(data);
  const tail = await encoder.finish();
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  remember(key, out);
  return out;
}
