/**
 * Signing a `Release` file: `InRelease` (clearsigned) and `Release.gpg`
 * (ASCII-armored detached signature), each signed by every given key.
 *
 * During a key rotation the repository is signed by the old and the new key:
 * apt accepts the file when any signature verifies with its keyring.
 *
 * The bytes are written the way `gpg --clearsign` writes them, and checked for
 * what apt's parser and `gpgv`/`sqv` require:
 * - the signed text is the `Release` file minus its final line ending, so that
 *   `gpgv --output` and apt's own split of `InRelease` give back the file;
 * - line endings are `\n`; lines starting with `-` are dash-escaped (`- -`);
 * - a `Release` text with `\r`, trailing white space on a line (which the
 *   cleartext signature framework drops) or no final line ending is refused,
 *   because `InRelease` would then not say the same as `Release`;
 * - hashes are SHA-512 (SHA-256 or stronger is enforced, never SHA-1), and the
 *   `Hash:` header lists every hash used.
 *
 * Runs under Deno and Node: no Deno-only APIs here.
 *
 * @module
 */

import * as openpgp from "openpgp";
import type { SigningKey } from "./keys.ts";

/** The signature files of a `Release` file. */
export interface ReleaseSignatures {
  /** `InRelease`: the `Release` text clearsigned. */
  inRelease: string;
  /** `Release.gpg`: an ASCII-armored detached signature over the `Release` bytes. */
  releaseGpg: string;
}

/** Options of {@linkcode signRelease}. */
export interface SignReleaseOptions {
  /**
   * The signatures' creation time. It must not be earlier than any key's
   * `validFrom` (its creation, or its signing subkey's binding): verifiers
   * reject a signature older than its key.
   *
   * Default: {@linkcode SIGNATURE_BACKDATE_SECONDS} before now, but not before
   * the newest key's `validFrom`. `sqv` (apt 3) refuses a signature dated even a
   * second after the client's clock, so a client whose clock is a little behind
   * ours would fail right after each publish; `gpgv` does not check this.
   */
  date?: Date;
}

/** Why a `Release` text could not be signed. */
export class SigningError extends Error {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SigningError";
  }
}

/** The hashes gpgv and sqv accept, with their names in the `Hash:` armor header. */
const ACCEPTED_HASHES = new Map<number, string>([
  [openpgp.enums.hash.sha256, "SHA256"],
  [openpgp.enums.hash.sha384, "SHA384"],
  [openpgp.enums.hash.sha512, "SHA512"],
]);

const SIGN_CONFIG: openpgp.PartialConfig = {
  preferredHashAlgorithm: openpgp.enums.hash.sha512,
  rejectHashAlgorithms: new Set([
    openpgp.enums.hash.md5,
    openpgp.enums.hash.ripemd,
    openpgp.enums.hash.sha1,
    openpgp.enums.hash.sha224,
  ]),
  // keys.ts has already refused RSA keys under 3072 bits.
  minRSABits: 2048,
};

/**
 * Signs a `Release` file with every key: returns `InRelease` and `Release.gpg`.
 *
 * @example
 * ```ts
 * const keys = await readSigningKeys(armoredPrivateKeys);
 * const { inRelease, releaseGpg } = await signRelease(releaseText, keys);
 * ```
 *
 * @throws {SigningError} when the text cannot be signed faithfully (see the
 *   module description), no key is given, or `date` is before a key's creation.
 */
export async function signRelease(
  releaseText: string,
  keys: readonly SigningKey[],
  options: SignReleaseOptions = {},
): Promise<ReleaseSignatures> {
  checkReleaseText(releaseText);
  if (keys.length === 0) {
    throw new SigningError("Cannot sign Release: no signing keys given");
  }
  const date = options.date ?? defaultSignatureDate(keys);
  for (const key of keys) {
    // OpenPGP stores whole seconds: compare at that precision.
    if (Math.floor(date.getTime() / 1000) < Math.floor(key.validFrom.getTime() / 1000)) {
      throw new SigningError(
        `Cannot sign Release with key ${key.fingerprint}: the signature date ` +
          `${date.toISOString()} is before the key can sign (${key.validFrom.toISOString()}: ` +
          "its creation, or its signing subkey's binding); check the clock, or sign with a " +
          "later date",
      );
    }
  }
  const signingKeys = keys.map((key) => key.privateKey);
  const signedText = releaseText.slice(0, -1);

  let textSignature: string;
  let detachedSignature: string;
  try {
    // A text-mode (0x01) signature over the signed text is what a clearsigned
    // message carries; the framing is written below, as gpg writes it.
    textSignature = await openpgp.sign({
      message: await openpgp.createMessage({ text: signedText }),
      signingKeys,
      date,
      detached: true,
      format: "armored",
      config: SIGN_CONFIG,
    });
    // A binary (0x00) signature over the exact bytes of the Release file.
    detachedSignature = await openpgp.sign({
      message: await openpgp.createMessage({ binary: new TextEncoder().encode(releaseText) }),
      signingKeys,
      date,
      detached: true,
      format: "armored",
      config: SIGN_CONFIG,
    });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new SigningError(
      `Cannot sign Release with keys ${keys.map((key) => key.fingerprint).join(", ")}: ${why}`,
      { cause: error },
    );
  }

  const hashNames = signatureHashes(
    await openpgp.readSignature({ armoredSignature: textSignature }),
    keys.length,
  );
  signatureHashes(
    await openpgp.readSignature({ armoredSignature: detachedSignature }),
    keys.length,
  );
  const inRelease = "-----BEGIN PGP SIGNED MESSAGE-----\n" +
    `Hash: ${hashNames.join(",")}\n` +
    "\n" +
    dashEscape(signedText) + "\n" +
    normalizeArmor(textSignature);
  return { inRelease, releaseGpg: normalizeArmor(detachedSignature) };
}

/** How far back {@linkcode signRelease} dates its signatures by default: 5 minutes. */
export const SIGNATURE_BACKDATE_SECONDS = 300;

/** Now minus the backdating margin, but not before every key can sign. */
function defaultSignatureDate(keys: readonly SigningKey[]): Date {
  const newest = Math.max(...keys.map((key) => key.validFrom.getTime()));
  return new Date(Math.max(Date.now() - SIGNATURE_BACKDATE_SECONDS * 1000, newest));
}

/** Refuses a `Release` text whose clearsigned form could not say the same bytes. */
function checkReleaseText(text: string): void {
  if (text.length === 0 || !text.endsWith("\n")) {
    throw new SigningError(
      "Cannot sign Release: the text must end with a line ending (\\n), as every Release file does",
    );
  }
  const lines = text.slice(0, -1).split("\n");
  for (const [index, line] of lines.entries()) {
    if (line.includes("\r")) {
      throw new SigningError(
        `Cannot sign Release: line ${index + 1} contains a carriage return; ` +
          "Release files use \\n line endings",
      );
    }
    if (/[ \t]$/.test(line)) {
      throw new SigningError(
        `Cannot sign Release: line ${index + 1} ends with white space, which a clearsigned ` +
          "InRelease drops; remove it from the Release text",
      );
    }
  }
}

/** The `Hash:` names of the signature's packets; checks one packet per key, each SHA-256+. */
function signatureHashes(signature: openpgp.Signature, expected: number): string[] {
  const packets = [...signature.packets];
  if (packets.length !== expected) {
    throw new SigningError(
      `Cannot sign Release: expected ${expected} signatures, OpenPGP.js made ${packets.length}`,
    );
  }
  const names: string[] = [];
  for (const packet of packets) {
    const name = packet.hashAlgorithm === null
      ? undefined
      : ACCEPTED_HASHES.get(packet.hashAlgorithm);
    if (name === undefined) {
      throw new SigningError(
        `Cannot sign Release: a signature uses hash algorithm ${packet.hashAlgorithm}, ` +
          "which apt's verifiers may refuse; only SHA-256, SHA-384 and SHA-512 are allowed",
      );
    }
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Dash-escapes the lines that start with `-` (RFC 4880 §7.1). */
function dashEscape(text: string): string {
  return text.split("\n").map((line) => line.startsWith("-") ? `- ${line}` : line).join("\n");
}

/** The armor with `\n` line endings and exactly one final line ending. */
function normalizeArmor(armored: string): string {
  return armored.replace(/\r\n/g, "\n").replace(/\n*$/, "\n");
}
