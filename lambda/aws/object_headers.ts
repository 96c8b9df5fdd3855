/**
 * The `Content-Type` and `Cache-Control` of every kind of repository object.
 *
 * Pool files and by-hash indexes never change under their key, so they are
 * cached long and `immutable`; everything else (Release files, canonical
 * index names, the keyring, `kiro-repo.deb`, `index.html`) is cached briefly.
 *
 * @module
 */

/** Cache-Control of objects that never change under their key. */
export const IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable";

/** Cache-Control of objects that change from one publish to the next. */
export const MUTABLE_CACHE_CONTROL = "public, max-age=60";

/** Content-Type of `.deb` files. */
export const DEB_CONTENT_TYPE = "application/vnd.debian.binary-package";

/** Content-Type of Release and uncompressed Packages files. */
export const TEXT_CONTENT_TYPE = "text/plain; charset=utf-8";

/** The headers an object is written with. */
export interface ObjectHeaders {
  contentType: string;
  cacheControl: string;
}

/** Whether `key` is a by-hash index file (`…/by-hash/SHA256/<hex>`). */
export function isByHashKey(key: string): boolean {
  return /\/by-hash\/[A-Za-z0-9]+\/[0-9a-f]+$/.test(key);
}

/** Whether `key` never changes once written (pool files and by-hash indexes). */
export function isImmutableKey(key: string): boolean {
  return key.startsWith("pool/") || isByHashKey(key);
}

/**
 * The Content-Type of a file named `name` (a key, or for a by-hash file the
 * canonical name it stands for).
 */
export function contentTypeFor(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1);
  if (base.endsWith(".deb")) return DEB_CONTENT_TYPE;
  if (base.endsWith(".gz")) return "application/gzip";
  if (base.endsWith(".xz")) return "application/x-xz";
  if (base.endsWith(".zst")) return "application/zstd";
  if (base.endsWith(".bz2")) return "application/x-bzip2";
  if (base.endsWith(".pgp")) return "application/pgp-keys";
  if (base.endsWith(".gpg")) return "application/pgp-signature";
  if (base.endsWith(".html")) return "text/html; charset=utf-8";
  if (base.endsWith(".json")) return "application/json";
  if (base === "InRelease") return "text/plain; charset=utf-8";
  return TEXT_CONTENT_TYPE;
}

/**
 * The headers to write `key` with. For a by-hash key, pass the canonical name
 * it stands for as `canonicalName` (its Content-Type follows that name).
 *
 * @example
 * ```ts
 * headersFor("pool/main/k/kiro/kiro_1.0_amd64.deb");
 * // { contentType: "application/vnd.debian.binary-package", cacheControl: "public, max-age=31536000, immutable" }
 * ```
 */
export function headersFor(key: string, options: { canonicalName?: string } = {}): ObjectHeaders {
  return {
    contentType: contentTypeFor(options.canonicalName ?? key),
    cacheControl: isImmutableKey(key) ? IMMUTABLE_CACHE_CONTROL : MUTABLE_CACHE_CONTROL,
  };
}
