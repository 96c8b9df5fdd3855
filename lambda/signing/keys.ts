/**
 * The repository's OpenPGP signing keys: generating a key, reading the private
 * keys that sign the repository (one, or several during a key rotation), and
 * writing the public keyring that apt's `signed-by` points to.
 *
 * Only keys that every apt verifier accepts are allowed: apt ≤ 2.x runs `gpgv`,
 * apt 3 runs `sqv` with its crypto policy. That means version 4 keys with an
 * Ed25519 (EdDSA) key, an RSA key of at least 3072 bits, or an ECDSA key on a
 * NIST curve; signatures use SHA-256 or stronger (see `sign.ts`).
 *
 * Runs under Deno and Node: no Deno-only APIs here.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { concatBytes } from "../bytes.ts";

/** The kinds of key {@linkcode generateSigningKey} makes. */
export type SigningKeyType = "ed25519" | "rsa3072" | "rsa4096";

/** Every {@linkcode SigningKeyType}, for validation and help texts. */
export const SIGNING_KEY_TYPES: readonly SigningKeyType[] = ["ed25519", "rsa3072", "rsa4096"];

/** The smallest RSA key apt accepts from us (apt 3's policy retires 2048 bits). */
export const MIN_RSA_BITS = 3072;

/** A newly generated key pair, as text to store (private) and to publish (public). */
export interface GeneratedSigningKey {
  /** The private key, ASCII-armored and not protected by a passphrase. */
  armoredPrivateKey: string;
  /** The public key, ASCII-armored. */
  armoredPublicKey: string;
  /** The primary key's fingerprint: 40 upper-case hex digits, as gpg and sqv print it. */
  fingerprint: string;
}

/** A private key ready to sign, as returned by {@linkcode readSigningKeys}. */
export interface SigningKey {
  /** The primary key's fingerprint: 40 upper-case hex digits. */
  readonly fingerprint: string;
  /** The fingerprint of the (sub)key that makes the signatures, upper-case hex. */
  readonly signingFingerprint: string;
  /** What the signing key is, e.g. `ed25519`, `rsa3072`, `nistP256`. */
  readonly algorithm: string;
  /** The user IDs, e.g. `Kiro Archive <archive@kiro.dev>`. */
  readonly userIds: readonly string[];
  /** When the primary key was created. */
  readonly created: Date;
  /**
   * The earliest time at which the key can sign: its creation, or later when its
   * signing subkey or a self-signature is newer (gpg's `--quick-add-key` binds a
   * subkey after the primary key was made). A signature dated earlier is invalid.
   */
  readonly validFrom: Date;
  /** When the key expires, or `null` if it does not. */
  readonly expires: Date | null;
  /** The decrypted OpenPGP.js private key. */
  readonly privateKey: openpgp.PrivateKey;
}

/**
 * Why a text could not be used as signing keys. The message names the key
 * (block number and fingerprint when known) and says what to do; it never
 * contains key material.
 */
export class SigningKeyError extends Error {
  /** What went wrong, for callers that branch on it. */
  readonly reason:
    | "no_key"
    | "public_key"
    | "unreadable"
    | "encrypted"
    | "cannot_sign"
    | "rejected_algorithm"
    | "duplicate";

  /** Builds the error; `reason` says what went wrong. */
  constructor(reason: SigningKeyError["reason"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SigningKeyError";
    this.reason = reason;
  }
}

/** OpenPGP.js settings for everything this module creates: v4 keys, SHA-512 self-signatures. */
const KEY_CONFIG: openpgp.PartialConfig = {
  v6Keys: false,
  preferredHashAlgorithm: openpgp.enums.hash.sha512,
};

/** Options of {@linkcode generateSigningKey}. */
export interface GenerateSigningKeyOptions {
  /** The user ID's name, e.g. `Kiro Archive Signing Key`. */
  name: string;
  /** The user ID's email address. */
  email: string;
  /** The kind of key: `ed25519` (small and fast) or RSA of 3072 or 4096 bits. */
  type: SigningKeyType;
  /** The key's creation time (default: now). Signatures must not be older than the key. */
  date?: Date;
  /** Seconds after creation when the key expires (default: never). */
  expirationSeconds?: number;
}

/**
 * Generates a repository signing key: a version 4 primary key that can certify
 * and sign, with no subkeys, no passphrase, and no expiry unless asked.
 *
 * Ed25519 keys are the legacy EdDSA kind (`ed25519Legacy`) that `gpgv` and
 * `sqv` both verify; OpenPGP.js's `curve25519`/v6 keys are refused by them.
 *
 * @example
 * ```ts
 * const key = await generateSigningKey({ name: "Kiro Archive", email: "archive@kiro.dev", type: "ed25519" });
 * const [signer] = await readSigningKeys(key.armoredPrivateKey);
 * ```
 */
export async function generateSigningKey(
  options: GenerateSigningKeyOptions,
): Promise<GeneratedSigningKey> {
  if (!SIGNING_KEY_TYPES.includes(options.type)) {
    throw new RangeError(
      `Cannot generate a signing key: type must be one of ${SIGNING_KEY_TYPES.join(", ")}, ` +
        `not ${JSON.stringify(options.type)}`,
    );
  }
  if (options.name.trim() === "" || !/^[^\s@<>]+@[^\s@<>]+$/.test(options.email)) {
    throw new RangeError(
      "Cannot generate a signing key: give a non-empty name and an email address such as archive@example.com",
    );
  }
  const expiration = options.expirationSeconds ?? 0;
  if (!Number.isInteger(expiration) || expiration < 0) {
    throw new RangeError(
      "Cannot generate a signing key: expirationSeconds must be a whole number of seconds ≥ 0",
    );
  }
  const kind = options.type === "ed25519"
    ? { type: "ecc" as const, curve: "ed25519Legacy" as const }
    : { type: "rsa" as const, rsaBits: options.type === "rsa3072" ? 3072 : 4096 };
  const { privateKey, publicKey } = await openpgp.generateKey({
    ...kind,
    userIDs: [{ name: options.name, email: options.email }],
    subkeys: [],
    keyExpirationTime: expiration,
    ...(options.date === undefined ? {} : { date: options.date }),
    format: "object",
    config: KEY_CONFIG,
  });
  return {
    armoredPrivateKey: privateKey.armor(),
    armoredPublicKey: publicKey.armor(),
    fingerprint: privateKey.getFingerprint().toUpperCase(),
  };
}

const PRIVATE_BLOCK =
  /-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?-----END PGP PRIVATE KEY BLOCK-----/g;

/** Options of {@linkcode readSigningKeys}. */
export interface ReadSigningKeysOptions {
  /** When the keys must be able to sign (default: now): expired keys are refused. */
  date?: Date;
}

/**
 * Reads the private keys that sign the repository from ASCII-armored text.
 *
 * The text may hold several `PGP PRIVATE KEY BLOCK`s one after the other (a key
 * rotation: the secret holds both keys and the repository is signed by each),
 * or be given as several texts. Every key must be unencrypted, able to sign at
 * `date`, and of a kind apt accepts (see the module description).
 *
 * @throws {SigningKeyError} when no key is found, or a key is unreadable,
 *   protected by a passphrase, unable to sign, of a rejected kind, or repeated.
 */
export async function readSigningKeys(
  armored: string | readonly string[],
  options: ReadSigningKeysOptions = {},
): Promise<SigningKey[]> {
  const date = options.date ?? new Date();
  const texts = typeof armored === "string" ? [armored] : armored;
  const blocks = texts.flatMap((text) => text.match(PRIVATE_BLOCK) ?? []);
  if (blocks.length === 0) {
    const all = texts.join("\n");
    if (all.includes("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
      throw new SigningKeyError(
        "public_key",
        "Cannot read the signing key: the text holds a public key, not a private key; " +
          "store the armored private key (gpg --armor --export-secret-keys KEYID)",
      );
    }
    throw new SigningKeyError(
      "no_key",
      "Cannot read the signing key: no -----BEGIN PGP PRIVATE KEY BLOCK----- found; " +
        "store one or more ASCII-armored private keys (gpg --armor --export-secret-keys KEYID)",
    );
  }
  const keys: SigningKey[] = [];
  for (const [index, block] of blocks.entries()) {
    const label = blocks.length === 1
      ? "the signing key"
      : `signing key ${index + 1} of ${blocks.length}`;
    let parsed: openpgp.PrivateKey[];
    try {
      parsed = await openpgp.readPrivateKeys({ armoredKeys: block });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new SigningKeyError(
        "unreadable",
        `Cannot read ${label}: the armored block is not a valid OpenPGP private key (${why}); ` +
          "export it again with gpg --armor --export-secret-keys KEYID",
        { cause: error },
      );
    }
    for (const privateKey of parsed) {
      const key = await checkedKey(privateKey, label, date);
      const earlier = keys.find((known) => known.fingerprint === key.fingerprint);
      if (earlier !== undefined) {
        throw new SigningKeyError(
          "duplicate",
          `Cannot use ${label}: key ${key.fingerprint} appears more than once; store each key once`,
        );
      }
      keys.push(key);
    }
  }
  return keys;
}

async function checkedKey(
  privateKey: openpgp.PrivateKey,
  label: string,
  date: Date,
): Promise<SigningKey> {
  const fingerprint = privateKey.getFingerprint().toUpperCase();
  const named = `${label} (${fingerprint})`;
  if (privateKey.keyPacket.version !== 4) {
    throw new SigningKeyError(
      "rejected_algorithm",
      `Cannot use ${named}: it is a version ${privateKey.keyPacket.version} key, which gpgv and ` +
        "apt's sqv refuse; generate a version 4 key (Ed25519 or RSA ≥ 3072 bits)",
    );
  }
  let signing: openpgp.PrivateKey | openpgp.Subkey;
  try {
    signing = await privateKey.getSigningKey(undefined, date, undefined, {
      ...openpgp.config,
      minRSABits: 1024,
    });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new SigningKeyError(
      "cannot_sign",
      `Cannot use ${named}: it cannot sign on ${date.toISOString()} (${why}); ` +
        "use a key with a valid signing (sub)key that is not expired or revoked",
      { cause: error },
    );
  }
  for (const part of new Set([privateKey, signing])) {
    if (!part.isDecrypted()) {
      throw new SigningKeyError(
        "encrypted",
        `Cannot use ${named}: the key is protected by a passphrase; store it without one ` +
          "(gpg --passwd KEYID with an empty passphrase, then export it again)",
      );
    }
  }
  const algorithm = algorithmName(signing.getAlgorithmInfo());
  const rejected = rejection(signing.getAlgorithmInfo());
  if (rejected !== undefined) {
    throw new SigningKeyError(
      "rejected_algorithm",
      `Cannot use ${named}: its signing key is ${algorithm}, ${rejected}; ` +
        "generate an Ed25519 or RSA ≥ 3072-bit key",
    );
  }
  const expiration = await privateKey.getExpirationTime();
  return {
    fingerprint,
    signingFingerprint: signing.getFingerprint().toUpperCase(),
    algorithm,
    userIds: privateKey.getUserIDs(),
    created: privateKey.getCreationTime(),
    validFrom: await signingValidFrom(privateKey, date),
    expires: expiration instanceof Date ? expiration : null,
    privateKey,
  };
}

/**
 * The earliest of the key's own timestamps (key and subkey creation, binding
 * and self-signatures) at which OpenPGP.js finds a valid signing key; `date`
 * (when the key was checked, so known to work) if none is earlier.
 */
async function signingValidFrom(privateKey: openpgp.PrivateKey, date: Date): Promise<Date> {
  const times = new Set<number>([privateKey.getCreationTime().getTime()]);
  for (const subkey of privateKey.subkeys) {
    times.add(subkey.getCreationTime().getTime());
    for (const signature of subkey.bindingSignatures) {
      if (signature.created !== null) times.add(signature.created.getTime());
    }
  }
  for (const user of privateKey.users) {
    for (const signature of user.selfCertifications) {
      if (signature.created !== null) times.add(signature.created.getTime());
    }
  }
  for (const time of [...times].sort((a, b) => a - b)) {
    if (time > date.getTime()) break;
    try {
      await privateKey.getSigningKey(undefined, new Date(time), undefined, {
        ...openpgp.config,
        minRSABits: 1024,
      });
      return new Date(time);
    } catch {
      // Not yet valid at this time: try the next one.
    }
  }
  return date;
}

function algorithmName(info: openpgp.AlgorithmInfo): string {
  switch (info.algorithm) {
    case "rsaEncryptSign":
    case "rsaSign":
    case "rsaEncrypt":
      return `rsa${info.bits ?? "?"}`;
    case "eddsaLegacy":
      return info.curve === "ed25519Legacy" ? "ed25519" : `eddsa-${info.curve ?? "?"}`;
    case "ecdsa":
      return info.curve ?? "ecdsa";
    default:
      return info.algorithm;
  }
}

/** Why apt's verifiers would refuse this signing key, or undefined if they accept it. */
function rejection(info: openpgp.AlgorithmInfo): string | undefined {
  switch (info.algorithm) {
    case "rsaEncryptSign":
    case "rsaSign":
      return (info.bits ?? 0) >= MIN_RSA_BITS
        ? undefined
        : `which apt 3's sqv policy rejects (fewer than ${MIN_RSA_BITS} bits)`;
    case "eddsaLegacy":
      return info.curve === "ed25519Legacy" ? undefined : "an EdDSA curve gpgv does not support";
    case "ecdsa":
      return info.curve === "nistP256" || info.curve === "nistP384" || info.curve === "nistP521"
        ? undefined
        : "a curve apt 3's sqv refuses or will soon refuse (only NIST P-256/384/521 are accepted)";
    case "ed25519":
    case "ed448":
      return "the RFC 9580 kind that gpgv 2.2 (Debian 12, Ubuntu 22.04/24.04) cannot verify";
    default:
      return "an algorithm apt's verifiers refuse";
  }
}

/**
 * The public keyring for apt's `signed-by`: every key's public part, binary
 * OpenPGP, one after the other (no armor). Installed as
 * `/usr/share/keyrings/kiro-archive-keyring.pgp` and published beside the
 * repository.
 */
export function publicKeyring(keys: readonly SigningKey[]): Uint8Array {
  if (keys.length === 0) {
    throw new RangeError("Cannot write the public keyring: no signing keys given");
  }
  return concatBytes(keys.map((key) => key.privateKey.toPublic().write()));
}

/**
 * The same keyring ASCII-armored, as one `PGP PUBLIC KEY BLOCK` holding every
 * key: for people who download it by hand, or a `signed-by` file named `*.asc`
 * (apt dearmors those itself).
 */
export function armoredPublicKeyring(keys: readonly SigningKey[]): string {
  return openpgp.armor(openpgp.enums.armor.publicKey, publicKeyring(keys)).replace(/\r\n/g, "\n");
}

/** The keys' primary fingerprints (40 upper-case hex digits each), in order. */
export function keyFingerprints(keys: readonly SigningKey[]): string[] {
  return keys.map((key) => key.fingerprint);
}
