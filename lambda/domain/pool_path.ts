/**
 * Where a package version's `.deb` lives in the repository:
 * `pool/main/{prefix}/{name}/{name}_{version}_{arch}.deb`.
 *
 * **The epoch rule.** Debian's archive (dak, apt-ftparchive users) drops the
 * epoch from pool file names. We keep it, so that `1.0` and `1:1.0` — two
 * different versions — can never claim the same key (a pool file is immutable;
 * a collision would either overwrite a published file or refuse a valid
 * version). The key holds the version's characters literally, `:` included:
 *
 * - the `Filename` field of the `Packages` stanza is this key;
 * - apt percent-encodes `:`, `~` and `+` when it requests the file
 *   (`kiro_1%3a2.0%7erc1%2bb1_amd64.deb`);
 * - S3 (directly and behind CloudFront) URL-decodes the request path to find
 *   the object key, so the request reaches the key with the literal `:`, `~`
 *   and `+`. A key that stored `%3a` would not be found, and an unescaped `+`
 *   in a request would be read by S3 as a space — which apt never sends.
 *
 * Uploaders must therefore pass the key as is to the S3 SDK (which encodes it
 * on the wire), never pre-encoded.
 *
 * @module
 */

import { isValidVersion, versionError } from "./version.ts";

/** A package name, version or architecture that cannot make a pool path. */
export class PoolPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PoolPathError";
  }
}

const NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The pool folder letter(s) of a package: its first character, or its first
 * four for names that start with `lib` (`libfoo1` → `libf`), as Debian does.
 *
 * @throws {PoolPathError} when `name` is not a valid Debian package name
 * @example
 * ```ts
 * poolPrefix("kiro"); // "k"
 * poolPrefix("libacorn1"); // "liba"
 * ```
 */
export function poolPrefix(name: string): string {
  checkName(name);
  return name.startsWith("lib") && name.length > 3 ? name.slice(0, 4) : name.slice(0, 1);
}

/** What {@linkcode poolKey} needs to know about a package version. */
export interface PoolKeyInput {
  name: string;
  version: string;
  architecture: string;
}

/**
 * The object key of a package version's `.deb`:
 * `pool/main/{prefix}/{name}/{name}_{version}_{architecture}.deb`, with the
 * version written in full, epoch and all (see the module notes).
 *
 * @throws {PoolPathError} when the name, version or architecture is invalid
 * @example
 * ```ts
 * poolKey({ name: "kiro", version: "1.0.337", architecture: "amd64" });
 * // "pool/main/k/kiro/kiro_1.0.337_amd64.deb"
 * poolKey({ name: "libfoo1", version: "2:1.0~rc1-1", architecture: "all" });
 * // "pool/main/libf/libfoo1/libfoo1_2:1.0~rc1-1_all.deb"
 * ```
 */
export function poolKey(input: PoolKeyInput): string {
  const { name, version, architecture } = input;
  const prefix = poolPrefix(name);
  if (!isValidVersion(version)) {
    throw new PoolPathError(
      `Cannot make the pool path of ${name}: version ${JSON.stringify(version)} is invalid ` +
        `(${versionError(version)})`,
    );
  }
  if (!ARCH.test(architecture)) {
    throw new PoolPathError(
      `Cannot make the pool path of ${name} ${version}: architecture ` +
        `${JSON.stringify(architecture)} must be lowercase letters, digits and "-"`,
    );
  }
  return `pool/main/${prefix}/${name}/${name}_${version}_${architecture}.deb`;
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new PoolPathError(
      `Invalid package name ${JSON.stringify(name)}: it must be at least two characters of ` +
        `lowercase letters, digits, "+", "-" and ".", starting with a letter or digit`,
    );
  }
}
