/**
 * Content hashes, the one place that calls `node:crypto`'s `createHash`:
 * one digest of some bytes ({@linkcode digestHex}, {@linkcode sha256Hex}, …),
 * one digest over a stream of chunks ({@linkcode Hasher}), and the size with
 * every digest a `Packages` stanza or a `Release` file lists in one pass
 * ({@linkcode MultiHasher}: MD5, SHA1, SHA256; SHA512 on request).
 *
 * Digests are lowercase hex.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";

/** The digest algorithms the repository uses. */
export type DigestAlgorithm = "md5" | "sha1" | "sha256" | "sha512";

/**
 * The `algorithm` digest of `bytes`, lowercase hex.
 *
 * @example
 * ```ts
 * digestHex("sha1", new TextEncoder().encode("abc")); // "a9993e36…"
 * ```
 */
export function digestHex(algorithm: DigestAlgorithm, bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest("hex");
}

/** The SHA-256 of `bytes`, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return digestHex("sha256", bytes);
}

/** The SHA-1 of `bytes`, lowercase hex. */
export function sha1Hex(bytes: Uint8Array): string {
  return digestHex("sha1", bytes);
}

/** The MD5 of `bytes`, lowercase hex. */
export function md5Hex(bytes: Uint8Array): string {
  return digestHex("md5", bytes);
}

/**
 * One digest (and the size) of bytes that arrive in chunks: memory use does
 * not depend on their length.
 *
 * @example
 * ```ts
 * const hasher = new Hasher("sha256");
 * for await (const chunk of stream) hasher.update(chunk);
 * hasher.size; hasher.digest(); // bytes seen, lowercase hex
 * ```
 */
export class Hasher {
  #size = 0;
  #hash: Hash;
  #done: string | undefined;

  /** Starts empty. */
  constructor(algorithm: DigestAlgorithm) {
    this.#hash = createHash(algorithm);
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  /** Adds `chunk` to the digest. Not allowed after {@linkcode digest}. */
  update(chunk: Uint8Array): void {
    if (this.#done !== undefined) throw new Error("Hasher.update called after digest()");
    this.#size += chunk.byteLength;
    this.#hash.update(chunk);
  }

  /** The digest of everything added, lowercase hex. Further calls return the same result. */
  digest(): string {
    this.#done ??= this.#hash.digest("hex");
    return this.#done;
  }
}

/** Size and hex digests of some bytes. */
export interface Digests {
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  /** Only when SHA512 was asked for. */
  sha512?: string;
}

/** Options of {@linkcode MultiHasher} and {@linkcode hashStream}. */
export interface HashOptions {
  /** Also compute SHA512. Default `false`. */
  sha512?: boolean;
}

/**
 * Computes size, MD5, SHA1, SHA256 (and optionally SHA512) incrementally.
 *
 * @example
 * ```ts
 * const hasher = new MultiHasher();
 * hasher.update(new TextEncoder().encode("abc"));
 * hasher.digest().sha256; // "ba7816bf…"
 * ```
 */
export class MultiHasher {
  #size = 0;
  #hashes: Hash[];
  #sha512: boolean;
  #done: Digests | undefined;

  /** Starts empty. */
  constructor(options: HashOptions = {}) {
    this.#sha512 = options.sha512 === true;
    const names = ["md5", "sha1", "sha256", ...(this.#sha512 ? ["sha512"] : [])];
    this.#hashes = names.map((name) => createHash(name));
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  /** Adds `chunk` to every digest. Not allowed after {@linkcode digest}. */
  update(chunk: Uint8Array): void {
    if (this.#done !== undefined) throw new Error("MultiHasher.update called after digest()");
    this.#size += chunk.byteLength;
    for (const hash of this.#hashes) hash.update(chunk);
  }

  /** The digests of everything added. Further calls return the same result. */
  digest(): Digests {
    if (this.#done !== undefined) return this.#done;
    const [md5, sha1, sha256, sha512] = this.#hashes.map((hash) => hash.digest("hex"));
    this.#done = {
      size: this.#size,
      md5: md5 as string,
      sha1: sha1 as string,
      sha256: sha256 as string,
      ...(sha512 !== undefined ? { sha512 } : {}),
    };
    return this.#done;
  }
}

/**
 * Reads `stream` to its end and returns its size and digests. Memory use does
 * not depend on the stream's length.
 */
export async function hashStream(
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: HashOptions = {},
): Promise<Digests> {
  const hasher = new MultiHasher(options);
  for await (const chunk of stream) hasher.update(chunk);
  return hasher.digest();
}

/** Size and digests of `bytes`. */
export function hashBytes(bytes: Uint8Array, options: HashOptions = {}): Digests {
  const hasher = new MultiHasher(options);
  hasher.update(bytes);
  return hasher.digest();
}
