/**
 * Verifying the signatures of a `Release` file, beside their signer
 * (`sign.ts`): `InRelease` (clearsigned, split by apt's rules in
 * `clearsigned.ts`) and `Release.gpg` (a detached signature over the
 * `Release` bytes), with the keys of a binary OpenPGP keyring. The one place
 * that asks OpenPGP.js whether a signature verifies.
 *
 * - {@linkcode verifyClearsigned} and {@linkcode verifyDetached} give every
 *   signature found and whether it verifies; the caller decides what a
 *   signature by an unknown key means.
 * - {@linkcode verifyReleaseSignatures} checks what apt checks of a suite and
 *   answers with problems, one line each naming the file, never a throw.
 *
 * Runs under Deno and Node: no Deno-only APIs here.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { type ClearsignedParts, splitClearsigned } from "./clearsigned.ts";

/** The public keys signatures are checked with (from {@linkcode readKeyring}). */
export type Keyring = readonly openpgp.Key[];

/** One signature found, and whether it verifies with the keyring. */
export interface SignatureCheck {
  /** The ID of the key that made it: 16 uppercase hex digits. */
  keyId: string;
  /** The primary fingerprint (uppercase hex) of the keyring's key that holds it, when there is one. */
  fingerprint?: string;
  /** Whether it verifies with the keyring. */
  verified: boolean;
  /** Why it does not verify (only when it does not). */
  error?: string;
}

/** Options of {@linkcode verifyClearsigned} and {@linkcode verifyDetached}. */
export interface VerifySignatureOptions {
  /** The keys whose signatures verify. */
  keys: Keyring;
}

/** What {@linkcode verifyClearsigned} found. */
export interface ClearsignedVerification {
  /** The signed text as apt extracts it (a `Release` file without its final `\n`). */
  text: string;
  /** Every signature of the file (none: it carries no signature). */
  signatures: SignatureCheck[];
}

/**
 * The keys of a binary OpenPGP keyring (as published at
 * `kiro-archive-keyring.pgp`).
 *
 * @throws {Error} (OpenPGP.js's) when the bytes are not a binary OpenPGP keyring
 */
export async function readKeyring(bytes: Uint8Array): Promise<openpgp.Key[]> {
  return await openpgp.readKeys({ binaryKeys: bytes });
}

/**
 * Splits a clearsigned file (`InRelease`) as apt does and checks each of its
 * signatures over the signed text with `options.keys`.
 *
 * @throws {import("./clearsigned.ts").ClearsignedFormatError} when apt would
 *   refuse the file (`options.name` names it), and OpenPGP.js's error when its
 *   signature block is not readable
 * @example
 * ```ts
 * const { text, signatures } = await verifyClearsigned(inRelease, { keys });
 * signatures.some((signature) => signature.verified);
 * ```
 */
export async function verifyClearsigned(
  clearsigned: string,
  options: VerifySignatureOptions & { name?: string },
): Promise<ClearsignedVerification> {
  const parts = splitClearsigned(
    clearsigned,
    options.name === undefined ? {} : { name: options.name },
  );
  return { text: parts.text, signatures: await verifyParts(parts, options.keys) };
}

/**
 * Checks each signature of an armored detached signature (`Release.gpg`)
 * over the exact bytes `data` with `options.keys`.
 *
 * @throws {Error} (OpenPGP.js's) when the signature is not readable
 * @example
 * ```ts
 * const signatures = await verifyDetached(releaseBytes, releaseGpg, { keys });
 * ```
 */
export async function verifyDetached(
  data: Uint8Array,
  armoredSignature: string,
  options: VerifySignatureOptions,
): Promise<SignatureCheck[]> {
  const message = await openpgp.createMessage({ binary: data });
  const signature = await openpgp.readSignature({ armoredSignature });
  return await checkSignatures(message, signature, options.keys);
}

/** The signed files beside a suite's `Release`, as read from the store (`undefined`: missing). */
export interface ReleaseSignatureFiles {
  inRelease: Uint8Array | undefined;
  releaseGpg: Uint8Array | undefined;
}

/** Options of {@linkcode verifyReleaseSignatures}. */
export interface ReleaseSignatureOptions {
  /** The keyring (binary OpenPGP) whose keys must have signed. */
  keyring: Uint8Array;
  /** Put before `InRelease`, `Release` and `Release.gpg` in the problems, e.g. `dists/stable/`. */
  directory?: string;
  /** Names the keyring in the problems, e.g. `kiro-archive-keyring.pgp`. */
  keyringName?: string;
}

/** What {@linkcode verifyReleaseSignatures} found. */
export interface ReleaseSignatureReport {
  /** Everything that is wrong (empty: apt accepts both files). */
  problems: string[];
  /** How many signatures were checked. */
  signatures: number;
}

/**
 * Checks what apt checks of a suite's signatures: `InRelease` signs exactly
 * `release` and `Release.gpg` is a detached signature over it, each with
 * signatures that all verify with the keys of `options.keyring` (a signature
 * by another key is a problem). Bad content (missing file, unreadable keyring
 * or signature) is a problem naming the file, never a throw.
 *
 * @example
 * ```ts
 * const { problems } = await verifyReleaseSignatures(release, { inRelease, releaseGpg }, {
 *   keyring,
 *   directory: "dists/stable/",
 * });
 * ```
 */
export async function verifyReleaseSignatures(
  release: Uint8Array,
  signed: ReleaseSignatureFiles,
  options: ReleaseSignatureOptions,
): Promise<ReleaseSignatureReport> {
  const dir = options.directory ?? "";
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  let keys: openpgp.Key[];
  try {
    keys = await readKeyring(options.keyring);
  } catch (error) {
    const name = options.keyringName === undefined ? "" : ` ${options.keyringName}`;
    return { problems: [`Cannot read the keyring${name}: ${messageOf(error)}`], signatures: 0 };
  }
  const problems: string[] = [];
  let signatures = 0;
  if (signed.inRelease === undefined) {
    problems.push(`${dir}InRelease is missing`);
  } else {
    const what = `${dir}InRelease`;
    let parts: ClearsignedParts | undefined;
    try {
      parts = splitClearsigned(decode(signed.inRelease), { name: what });
    } catch (error) {
      problems.push(messageOf(error));
    }
    if (parts !== undefined) {
      if (`${parts.text}\n` !== decode(release)) {
        problems.push(`${what} does not sign the same text as ${dir}Release`);
      }
      try {
        const checks = await verifyParts(parts, keys);
        problems.push(...signatureProblems(checks, what));
        signatures += checks.length;
      } catch (error) {
        problems.push(`Cannot check ${what}: ${messageOf(error)}`);
      }
    }
  }
  if (signed.releaseGpg === undefined) {
    problems.push(`${dir}Release.gpg is missing`);
  } else {
    const what = `${dir}Release.gpg`;
    try {
      const checks = await verifyDetached(release, decode(signed.releaseGpg), { keys });
      problems.push(...signatureProblems(checks, what));
      signatures += checks.length;
    } catch (error) {
      problems.push(`Cannot check ${what}: ${messageOf(error)}`);
    }
  }
  return { problems, signatures };
}

/** The problems of a file's signatures: none at all, or one that does not verify. */
function signatureProblems(checks: readonly SignatureCheck[], what: string): string[] {
  if (checks.length === 0) return [`${what} carries no signature`];
  return checks.filter((check) => !check.verified).map((check) =>
    `${what} has a signature by key ${check.keyId} that does not verify with the published ` +
    `keyring: ${check.error}`
  );
}

/** The signatures of a split clearsigned file over its text. */
async function verifyParts(parts: ClearsignedParts, keys: Keyring): Promise<SignatureCheck[]> {
  const message = await openpgp.createMessage({ text: parts.text });
  const signature = await openpgp.readSignature({ armoredSignature: parts.signature });
  return await checkSignatures(message, signature, keys);
}

async function checkSignatures(
  message: openpgp.Message<string | Uint8Array>,
  signature: openpgp.Signature,
  keys: Keyring,
): Promise<SignatureCheck[]> {
  const result = await openpgp.verify({ message, signature, verificationKeys: [...keys] });
  const checks: SignatureCheck[] = [];
  for (const entry of result.signatures) {
    const keyId = entry.keyID.toHex().toUpperCase();
    const holder = keys.find((key) => key.getKeys(entry.keyID).length > 0);
    const fingerprint = holder === undefined ? {} : {
      fingerprint: holder.getFingerprint().toUpperCase(),
    };
    try {
      await entry.verified;
      checks.push({ keyId, ...fingerprint, verified: true });
    } catch (error) {
      checks.push({ keyId, ...fingerprint, verified: false, error: messageOf(error) });
    }
  }
  return checks;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
