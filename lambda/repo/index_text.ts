/**
 * The text of one index file (`Packages`), written stanza by stanza: encoded
 * into slabs of {@linkcode GZIP_SLICE} bytes, hashed a slab at a time and,
 * when asked, gzipped a slab at a time, so that
 * a large index's compression runs on another thread while the next stanzas
 * are written (`lambda/repo/gzip_stream.ts`).
 *
 * @module
 */

import { type Digests, MultiHasher } from "../hashing.ts";
import { GZIP_SLICE, type GzipStream, gzipStream } from "./gzip_stream.ts";

/** Options of {@linkcode IndexText}. */
export interface IndexTextOptions {
  /**
   * gzip the text at this level while it is written, once it reaches one
   * slice ({@linkcode GZIP_SLICE}); a shorter text is not compressed here.
   */
  gzipLevel?: number;
}

/** What {@linkcode IndexText.finish} gives. */
export interface FinishedIndexText {
  bytes: Uint8Array;
  digests: Digests;
  /** The `.gz`, when it was compressed while written; otherwise `undefined`. */
  gz: Promise<Uint8Array> | undefined;
}

/**
 * One index file's text in the making.
 *
 * @example
 * ```ts
 * const text = new IndexText({ gzipLevel: 6 });
 * for (const stanza of stanzas) text.add(stanza + "\n");
 * const { bytes, digests, gz } = text.finish();
 * ```
 */
export class IndexText {
  #encoder = new TextEncoder();
  /** Full slabs of {@linkcode GZIP_SLICE} bytes, then the one being filled. */
  #slabs: Uint8Array[] = [];
  #slab: Uint8Array | undefined;
  #at = 0;
  #hasher = new MultiHasher();
  #gzipLevel: number | undefined;
  #gzip: GzipStream | undefined;
  #finished = false;

  /** Starts empty. */
  constructor(options: IndexTextOptions = {}) {
    this.#gzipLevel = options.gzipLevel;
  }

  /** Whether the text is gzipped as it is written (it was asked to be). */
  get compressing(): boolean {
    return this.#gzipLevel !== undefined;
  }

  /** Appends `text`. */
  add(text: string): void {
    let rest = text;
    while (rest.length > 0) {
      this.#slab ??= new Uint8Array(GZIP_SLICE);
      const { read, written } = this.#encoder.encodeInto(rest, this.#slab.subarray(this.#at));
      this.#at += written;
      if (read === rest.length) return;
      rest = rest.slice(read);
      if (this.#at < GZIP_SLICE) {
        // The next character's bytes do not fit: they straddle two slabs.
        const char = String.fromCodePoint(rest.codePointAt(0)!);
        const bytes = this.#encoder.encode(char);
        const room = GZIP_SLICE - this.#at;
        this.#slab.set(bytes.subarray(0, room), this.#at);
        this.#at = GZIP_SLICE;
        this.#fullSlab();
        this.#slab = new Uint8Array(GZIP_SLICE);
        this.#slab.set(bytes.subarray(room));
        this.#at = bytes.length - room;
        rest = rest.slice(char.length);
      } else {
        this.#fullSlab();
      }
    }
  }

  /**
   * The whole text, its digests and (when it was compressed while written)
   * its `.gz`. Nothing may be added afterwards.
   */
  finish(): FinishedIndexText {
    if (this.#finished) throw new Error("IndexText.finish called twice");
    this.#finished = true;
    const last = (this.#slab ?? new Uint8Array()).subarray(0, this.#at);
    this.#hasher.update(last);
    const bytes = concat([...this.#slabs, last]);
    let gz: Promise<Uint8Array> | undefined;
    if (this.#gzip !== undefined) {
      if (last.byteLength > 0) this.#gzip.write(last);
      gz = this.#gzip.finish();
    }
    return { bytes, digests: this.#hasher.digest(), gz };
  }

  /** Stops a compression that is running (the text will not be finished). */
  abort(): void {
    this.#gzip?.abort();
    this.#gzip = undefined;
  }

  /** The slab is full: hashed, handed to the compression, and a new one is taken. */
  #fullSlab(): void {
    const slab = this.#slab!;
    this.#slabs.push(slab);
    this.#slab = undefined;
    this.#at = 0;
    this.#hasher.update(slab);
    if (this.#gzipLevel === undefined) return;
    this.#gzip ??= gzipStream({ level: this.#gzipLevel });
    this.#gzip.write(slab);
  }
}

/** The chunks as one array of its own (not a view into a larger slab). */
function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const only = chunks.length === 1 ? chunks[0]! : undefined;
  if (only !== undefined && only.byteLength === only.buffer.byteLength) return only;
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
