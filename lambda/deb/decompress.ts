/**
 * Decompression of `.deb` members (`control.tar`, `.gz`, `.xz`, `.zst`), the
 * same in Deno and Node (bundled by esbuild): gzip through `node:zlib`, xz
 * through `xz-decompress` (xz-embedded compiled to WebAssembly, no native
 * addon), zstd through `fzstd` (plain JavaScript).
 *
 * @module
 */

import { gunzipSync } from "node:zlib";
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
