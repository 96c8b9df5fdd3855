/**
 * Decompression of `.deb` members (`control.tar`, `.gz`, `.xz`, `.zst`), the
 * same in Deno and Node (bundled by esbuild): gzip through `node:zlib`, xz
 * through `xz-decompress` (xz-embedded compiled to WebAssembly, no native
 * addon), zstd through `fzstd` (plain JavaScript).
 *
 * @module
 */

import { constants as zlibConstants, gunzipSync } from "node:zlib";
import { Decompress as ZstdDecompress } from "fzstd";
import * as xzModule from "xz-decompress";
import { concatBytes, readAllBytes } from "../bytes.ts";

// xz-decompress is a webpack UMD bundle: Deno exposes its exports only as `default`,
// esbuild and Node's ESM loader as named exports too. Accept both.
type XzStreamClass = typeof xzModule.XzReadableStream;
const XzReadableStream: XzStreamClass = (xzModule as { XzReadableStream?: XzStreamClass })
  .XzReadableStream ??
  (xzModule as unknown as { default: { XzReadableStream: XzStreamClass } }).default
    .XzReadableStream;

/** The compressions a `.deb` member can have. */
export type Compression = "gzip" | "xz" | "zstd" | "none";

/** Member-name suffix → compression, as dpkg-deb names the members. */
export const COMPRESSION_SUFFIXES: Readonly<Record<string, Compression>> = {
  "": "none",
  ".gz": "gzip",
  ".xz": "xz",
  ".zst": "zstd",
};

/**
 * The compression of a member named `base` + suffix (e.g. `control.tar.xz`
 * with base `control.tar` → `xz`), or `undefined` when the suffix is unknown
 * (e.g. `.bz2`) or the name does not start with `base`.
 */
export function compressionOf(memberName: string, base: string): Compression | undefined {
  if (!memberName.startsWith(base)) return undefined;
  const suffix = memberName.slice(base.length);
  return Object.hasOwn(COMPRESSION_SUFFIXES, suffix) ? COMPRESSION_SUFFIXES[suffix] : undefined;
}

/** Compressed data that could not be decompressed, or that is larger than allowed. */
export class DecompressionError extends Error {
  /** @param message the full message; @param options the underlying error */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DecompressionError";
  }
}

/** Options of {@linkcode decompress}. */
export interface DecompressOptions {
  /** What is being decompressed, for error messages (e.g. `kiro.deb: control.tar.xz`). */
  name: string;
  /** Refuse output larger than this many bytes. Default 64 MiB. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Decompresses `data`, all of it at once, refusing an output larger than
 * `options.maxBytes`.
 *
 * @throws {DecompressionError} for corrupt or truncated data, or too large an output.
 */
export async function decompress(
  data: Uint8Array,
  compression: Compression,
  options: DecompressOptions,
): Promise<Uint8Array> {
  const { name } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const tooLarge = () =>
    new DecompressionError(
      `${name}: decompresses to more than ${maxBytes} bytes, which is more than a .deb ` +
        `control member can reasonably hold`,
    );
  const corrupt = (cause: unknown) =>
    new DecompressionError(
      `${name}: cannot decompress the ${compression} data (${
        cause instanceof Error ? cause.message : String(cause)
      }); the file is corrupt or truncated`,
      { cause },
    );
  switch (compression) {
    case "none":
      if (data.byteLength > maxBytes) throw tooLarge();
      return data;
    case "gzip": {
      let out: Uint8Array;
      try {
        out = gunzipSync(data, { maxOutputLength: maxBytes + 1 });
      } catch (error) {
        if (error instanceof RangeError) throw tooLarge();
        throw corrupt(error);
      }
      if (out.byteLength > maxBytes) throw tooLarge();
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    case "zstd": {
      const parts: Uint8Array[] = [];
      let total = 0;
      let overflow = false;
      const decoder = new ZstdDecompress((chunk) => {
        total += chunk.byteLength;
        if (total > maxBytes) overflow = true;
        else parts.push(chunk.slice());
      });
      try {
        decoder.push(data, true);
      } catch (error) {
        if (overflow) throw tooLarge();
        throw corrupt(error);
      }
      if (overflow) throw tooLarge();
      return concatBytes(parts);
    }
    case "xz": {
      const input = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(data);
          controller.close();
        },
      });
      try {
        return await readAllBytes(new XzReadableStream(input), { maxBytes, tooLarge });
      } catch (error) {
        if (error instanceof DecompressionError) throw error;
        throw corrupt(error);
      }
    }
  }
}

/** Options of {@linkcode decompressHead}. */
export interface DecompressHeadOptions {
  /** What is being decompressed, for error messages (e.g. `kiro.deb: data.tar.xz`). */
  name: string;
  /** How many decompressed bytes are wanted. */
  bytes: number;
  /** Give up when this many compressed bytes gave fewer than `bytes`. Default 4 MiB. */
  maxInputBytes?: number;
}

const DEFAULT_HEAD_INPUT_BYTES = 4 * 1024 * 1024;
const GZIP_HEAD_OUTPUT_BYTES = 1024 * 1024;

/**
 * The first `options.bytes` decompressed bytes of the stream `chunks` (fewer
 * when the data ends before), reading no more of it than needed: what is left
 * of `chunks` is not read. Used to look at the start of a `.deb`'s data member
 * without decompressing all of it.
 *
 * @throws {DecompressionError} when the start of the data cannot be decompressed.
 */
export async function decompressHead(
  chunks: AsyncIterable<Uint8Array>,
  compression: Compression,
  options: DecompressHeadOptions,
): Promise<Uint8Array> {
  const { name, bytes: wanted } = options;
  const maxInput = options.maxInputBytes ?? DEFAULT_HEAD_INPUT_BYTES;
  const corrupt = (cause: unknown) =>
    new DecompressionError(
      `${name}: cannot decompress the start of the ${compression} data (${
        cause instanceof Error ? cause.message : String(cause)
      }); the file is corrupt or not what its name says`,
      { cause },
    );
  const iterator = chunks[Symbol.asyncIterator]();
  let inputBytes = 0;
  const next = async (): Promise<Uint8Array | undefined> => {
    if (inputBytes >= maxInput) return undefined;
    const result = await iterator.next();
    if (result.done === true) return undefined;
    inputBytes += result.value.byteLength;
    return result.value;
  };
  const head = (parts: Uint8Array[]) => concatBytes(parts).slice(0, wanted);
  try {
    switch (compression) {
      case "none": {
        const parts: Uint8Array[] = [];
        let total = 0;
        for (let chunk = await next(); chunk !== undefined; chunk = await next()) {
          parts.push(chunk.slice());
          total += chunk.byteLength;
          if (total >= wanted) break;
        }
        return head(parts);
      }
      case "gzip": {
        // A sync flush decompresses what the input so far holds, without
        // asking for the rest of the stream.
        const inflate = (input: Uint8Array): Uint8Array | "too-large" => {
          try {
            return gunzipSync(input, {
              finishFlush: zlibConstants.Z_SYNC_FLUSH,
              maxOutputLength: GZIP_HEAD_OUTPUT_BYTES,
            });
          } catch (error) {
            if (error instanceof RangeError) return "too-large";
            throw corrupt(error);
          }
        };
        const parts: Uint8Array[] = [];
        let short = 0;
        let out: Uint8Array = new Uint8Array(0);
        for (let chunk = await next(); chunk !== undefined; chunk = await next()) {
          parts.push(chunk.slice());
          const input = concatBytes(parts);
          let result = inflate(input);
          // Too much output at once: find a prefix of the input that gives enough.
          let low = short;
          let high = input.byteLength;
          while (result === "too-large") {
            if (high - low <= 1) throw corrupt(new Error("one byte decompresses to over 1 MiB"));
            const middle = Math.floor((low + high) / 2);
            const attempt = inflate(input.subarray(0, middle));
            if (attempt === "too-large") high = middle;
            else if (attempt.byteLength < wanted) low = middle;
            else result = attempt;
          }
          out = result;
          if (out.byteLength >= wanted) break;
          short = input.byteLength;
        }
        return new Uint8Array(out.buffer, out.byteOffset, Math.min(wanted, out.byteLength))
          .slice();
      }
      case "zstd": {
        const parts: Uint8Array[] = [];
        let total = 0;
        const decoder = new ZstdDecompress((chunk) => {
          parts.push(chunk.slice());
          total += chunk.byteLength;
        });
        for (let chunk = await next(); chunk !== undefined; chunk = await next()) {
          try {
            decoder.push(chunk);
          } catch (error) {
            throw corrupt(error);
          }
          if (total >= wanted) break;
        }
        return head(parts);
      }
      case "xz": {
        const input = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const chunk = await next();
            if (chunk === undefined) controller.close();
            else controller.enqueue(chunk.slice());
          },
        });
        const reader = new XzReadableStream(input).getReader();
        const parts: Uint8Array[] = [];
        let total = 0;
        try {
          while (total < wanted) {
            const result = await reader.read();
            if (result.done) break;
            parts.push(result.value.slice());
            total += result.value.byteLength;
          }
        } catch (error) {
          throw corrupt(error);
        } finally {
          await reader.cancel().catch(() => {});
        }
        return head(parts);
      }
      default:
        throw corrupt(new Error(`unknown compression ${String(compression)}`));
    }
  } finally {
    await iterator.return?.();
  }
}
