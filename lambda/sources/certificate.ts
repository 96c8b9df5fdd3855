/**
 * The signing certificate and the detached signature Kiro publishes beside
 * each `.deb`: `signature.bin` is a SHA-256 signature over the whole `.deb`
 * (RSA PKCS#1 v1.5 or ECDSA, DER), as `openssl dgst -sha256 -sign` makes it and
 * `openssl dgst -sha256 -verify` checks it.
 *
 * The certificate's validity dates are checked, and, when the config pins it,
 * its SHA-256 fingerprint. The signature is verified incrementally: the
 * verifier is fed each chunk of the download as it streams past (one pass).
 *
 * @module
 */

import { redactUrl } from "../redact.ts";
import { createVerify, type Verify, X509Certificate } from "node:crypto";

/** The certificate is unusable: unparsable, outside its validity dates, or not the pinned one. */
export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificateError";
  }
}

/** The `.deb` does not match its detached signature. */
export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignatureError";
  }
}

/** `AB:CD:…` or `abcd…` → `abcd…` (lower-case hex, no separators). */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replaceAll(":", "").toLowerCase();
}

/** Options of {@linkcode checkCertificate}. */
export interface CheckCertificateOptions {
  /** Where the certificate came from, for messages. */
  url: string;
  /** The config's `certificate_sha256` pin, if any. */
  pinnedSha256?: string;
  /** The time to check validity at (default: now). */
  now?: Date;
}

/**
 * Parses a PEM (or DER) certificate and checks its validity dates and, when
 * given, its SHA-256 fingerprint pin. Returns the certificate.
 */
export function checkCertificate(
  bytes: Uint8Array | string,
  options: CheckCertificateOptions,
): X509Certificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(typeof bytes === "string" ? bytes : new Uint8Array(bytes));
  } catch (error) {
    throw new CertificateError(
      `Certificate ${redactUrl(options.url)} is not a valid X.509 certificate (${
        error instanceof Error ? error.message : String(error)
      })`,
    );
  }
  const now = options.now ?? new Date();
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (now < from) {
    throw new CertificateError(
      `Certificate ${redactUrl(options.url)} is not valid yet (valid from ${from.toISOString()})`,
    );
  }
  if (now > to) {
    throw new CertificateError(
      `Certificate ${
        redactUrl(options.url)
      } expired on ${to.toISOString()}: the feed must publish a current certificate`,
    );
  }
  if (options.pinnedSha256 !== undefined) {
    const actual = normalizeFingerprint(certificate.fingerprint256);
    const pinned = normalizeFingerprint(options.pinnedSha256);
    if (actual !== pinned) {
      throw new CertificateError(
        `Certificate ${
          redactUrl(options.url)
        } has SHA-256 fingerprint ${actual}, not the pinned ${pinned} (source.certificate_sha256): if Kiro rotated its certificate, update the pin`,
      );
    }
  }
  const type = certificate.publicKey.asymmetricKeyType;
  if (type !== "rsa" && type !== "ec" && type !== "rsa-pss") {
    throw new CertificateError(
      `Certificate ${redactUrl(options.url)} has a ${
        String(type)
      } key; only RSA and ECDSA signatures are supported`,
    );
  }
  return certificate;
}

/** Checks a detached SHA-256 signature over data fed to it chunk by chunk. */
export class SignatureVerifier {
  readonly #verify: Verify;
  readonly #certificate: X509Certificate;
  readonly #signature: Uint8Array;
  readonly #what: string;

  /**
   * @param certificate the checked signing certificate
   * @param signature the detached signature (`signature.bin`)
   * @param options.what what is signed, for messages (the `.deb`'s URL)
   */
  constructor(certificate: X509Certificate, signature: Uint8Array, options: { what: string }) {
    this.#verify = createVerify("sha256");
    this.#certificate = certificate;
    this.#signature = signature;
    this.#what = options.what;
  }

  /** Feeds the next chunk of the signed data. */
  update(chunk: Uint8Array): void {
    this.#verify.update(chunk);
  }

  /** Throws {@linkcode SignatureError} unless the data fed so far matches the signature. */
  verify(): void {
    let ok: boolean;
    try {
      ok = this.#verify.verify(this.#certificate.publicKey, this.#signature);
    } catch (error) {
      throw new SignatureError(
        `Signature of ${this.#what} cannot be checked (${
          error instanceof Error ? error.message : String(error)
        }): signature.bin must be a DER SHA-256 signature`,
      );
    }
    if (!ok) {
      throw new SignatureError(
        `Signature of ${this.#what} does not match its certificate: the download is corrupt or was tampered with`,
      );
    }
  }
}
