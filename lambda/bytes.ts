/**
 * Joining bytes: chunks into one `Uint8Array`, and a whole (small) stream of
 * chunks read into one. Web-standard only (runs in Deno and Node).
 *
 * @module
 */

/**
 * The parts joined into one `Uint8Array`. A lone `Uint8Array` part is
 * returned as it is; otherwise the result is a new array.
 */
export function concatBytes(parts: readonly ArrayLike<number>[]): Uint8Array {
  const [first] = parts;
  if (parts.length === 1 && first instanceof Uint8Array) return first;
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Options of {@linkcode readAllBytes}. */
export interface ReadAllBytesOptions {
  /** Largest total accepted, in bytes (default: unlimited). */
  maxBytes?: number;
  /** The error thrown once more than `maxBytes` arrived (default: a `RangeError`). */
  tooLarge?: () => Error;
}

/**
 * Reads `chunks` to the end into one new `Uint8Array`. Every chunk is copied
 * as it arrives, so a producer may reuse its buffers (or hand out views of
 * them). Once more than `options.maxBytes` arrived it stops reading (the
 * iterator is closed, which cancels a `ReadableStream`) and throws
 * `options.tooLarge()`.
 */
export async function readAllBytes(
  chunks: AsyncIterable<Uint8Array>,
  options: ReadAllBytesOptions = {},
): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? Infinity;
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw options.tooLarge?.() ?? new RangeError(`The data is larger than ${maxBytes} bytes`);
    }
    parts.push(new Uint8Array(chunk));
  }
  return parts.length === 0 ? new Uint8Array(0) : concatBytes(parts);
}
