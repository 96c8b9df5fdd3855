/**
 * Key rotation (`deno task keygen`'s engine): the environment's stored
 * signing keys — the stack's Secrets Manager secret (dev, prod) or the
 * `.local/` key file — read, extended with a new key, or with one retired.
 * The stored value is the concatenation of the armored private keys; it is
 * never printed or logged.
 *
 * @module
 */

import { rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import {
  generateSigningKey,
  publicKeyring,
  readSigningKeys,
  type SigningKey,
  type SigningKeyType,
} from "../../lambda/signing/keys.ts";

/**
 * The key types keygen offers: Ed25519 or RSA ≥ 3072, what `gpgv` and `sqv` accept
 * (`docs/design.md`, "Repository layout and publishing").
 */
export const KEYGEN_TYPES = [
  "ed25519",
  "rsa3072",
  "rsa4096",
] as const satisfies readonly SigningKeyType[];

/** The user ID e-mail of new keys unless `--email` says otherwise. */
export const DEFAULT_KEY_EMAIL = "archive@kiro.dev";

/** Where an environment's private signing keys are kept. */
export interface KeyStorage {
  /** Human-readable location, e.g. `Secrets Manager secret kiro-…-signing-key-dev`. */
  readonly location: string;
  /** The stored armored keys, or `undefined` when nothing is stored yet. */
  read(): Promise<string | undefined>;
  /** Replaces the stored value. */
  write(value: string): Promise<void>;
}

/** keygen cannot do what was asked; the message says why and what to do. */
export class KeygenError extends Error {
  override name = "KeygenError";
}

function awsErrorName(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "name" in error
    ? String((error as { name: unknown }).name)
    : undefined;
}

/** The stack's Secrets Manager secret (created by `pulumi up`, without a value). */
export function secretsManagerStorage(client: SecretsManagerClient, secretId: string): KeyStorage {
  const location = `Secrets Manager secret ${secretId}`;
  return {
    location,
    async read() {
      let described;
      try {
        described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      } catch (error) {
        if (awsErrorName(error) === "ResourceNotFoundException") {
          throw new KeygenError(
            `Cannot store the signing key: the ${location} does not exist; deploy the stack first (pulumi up)`,
          );
        }
        throw error;
      }
      if (described.DeletedDate !== undefined) {
        throw new KeygenError(
          `Cannot store the signing key: the ${location} is scheduled for deletion; restore it ` +
            `(aws secretsmanager restore-secret --secret-id ${secretId}) or redeploy`,
        );
      }
      const versions = Object.values(described.VersionIdsToStages ?? {});
      if (!versions.some((stages) => stages.includes("AWSCURRENT"))) return undefined;
      try {
        const value = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
        return value.SecretString ?? undefined;
      } catch (error) {
        if (awsErrorName(error) === "ResourceNotFoundException") return undefined;
        throw error;
      }
    },
    async write(value) {
      await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
    },
  };
}

/** The local key file (mode 0600, replaced atomically). */
export function fileStorage(path: string): KeyStorage {
  return {
    location: `key file ${path}`,
    async read() {
      try {
        return await Deno.readTextFile(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
    },
    async write(value) {
      await Deno.mkdir(dirname(path), { recursive: true });
      const temporary = join(dirname(path), `.${crypto.randomUUID()}.tmp`);
      await writeFile(temporary, value, { mode: 0o600 });
      await rename(temporary, path);
    },
  };
}

const BLOCK =
  /-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?-----END PGP PRIVATE KEY BLOCK-----\r?\n?/g;

/** The armored private key blocks of a stored value, each with its key. */
async function storedBlocks(text: string): Promise<{ armored: string; key: SigningKey }[]> {
  const blocks = text.match(BLOCK) ?? [];
  const keys = await readSigningKeys(text);
  if (blocks.length !== keys.length) {
    throw new KeygenError(
      "Cannot read the stored signing keys: the value holds text outside the key blocks",
    );
  }
  const result: { armored: string; key: SigningKey }[] = [];
  for (const block of blocks) {
    const [key] = await readSigningKeys(block);
    result.push({ armored: block.endsWith("\n") ? block : `${block}\n`, key: key as SigningKey });
  }
  return result;
}

/** What {@linkcode updateSigningKeys} should do. */
export type KeygenAction =
  | { kind: "create"; type: SigningKeyType; name: string; email: string }
  | { kind: "rotate"; type: SigningKeyType; name: string; email: string }
  | { kind: "retire"; fingerprint: string };

/** The outcome of {@linkcode updateSigningKeys} (no private material). */
export interface KeygenResult {
  /** The new key's fingerprint (create, rotate). */
  added?: string;
  /** The retired key's fingerprint (retire). */
  removed?: string;
  /** The keys stored now, as read back from the storage. */
  keys: SigningKey[];
  /** Their public keys, binary OpenPGP (what `/kiro-archive-keyring.pgp` will hold). */
  keyring: Uint8Array;
}

/**
 * Creates, adds (rotation) or retires a signing key in `storage`, then reads
 * the stored value back and checks it holds exactly the intended keys.
 */
export async function updateSigningKeys(
  storage: KeyStorage,
  action: KeygenAction,
  options: { log?: (message: string) => void } = {},
): Promise<KeygenResult> {
  const current = await storage.read();
  const existing = current === undefined || current.trim() === ""
    ? []
    : await storedBlocks(current);
  let next: { armored: string; fingerprint: string }[];
  let added: string | undefined;
  let removed: string | undefined;
  if (action.kind === "retire") {
    const wanted = action.fingerprint.replace(/\s+/g, "").toUpperCase();
    const match = existing.filter(({ key }) =>
      key.fingerprint === wanted || key.fingerprint.endsWith(wanted)
    );
    if (wanted.length < 16 || match.length !== 1) {
      throw new KeygenError(
        `Cannot retire ${action.fingerprint}: the ${storage.location} holds ${
          existing.map(({ key }) => key.fingerprint).join(", ") || "no key"
        }; give one of these fingerprints (at least its last 16 hex digits)`,
      );
    }
    if (existing.length === 1) {
      throw new KeygenError(
        `Cannot retire ${action.fingerprint}: it is the only key in the ${storage.location}; rotate first (--rotate)`,
      );
    }
    removed = match[0]?.key.fingerprint;
    next = existing.filter(({ key }) => key.fingerprint !== removed)
      .map(({ armored, key }) => ({ armored, fingerprint: key.fingerprint }));
  } else {
    if (action.kind === "create" && existing.length > 0) {
      throw new KeygenError(
        `The ${storage.location} already holds ${
          existing.length === 1 ? "a signing key" : "signing keys"
        } (${
          existing.map(({ key }) => key.fingerprint).join(", ")
        }); use --rotate to add a new key alongside, then --retire the old one once clients have the new keyring`,
      );
    }
    options.log?.(`Generating a new ${action.type} signing key…`);
    const generated = await generateSigningKey({
      name: action.name,
      email: action.email,
      type: action.type,
    });
    added = generated.fingerprint;
    const armored = generated.armoredPrivateKey.endsWith("\n")
      ? generated.armoredPrivateKey
      : `${generated.armoredPrivateKey}\n`;
    next = [
      ...existing.map(({ armored, key }) => ({ armored, fingerprint: key.fingerprint })),
      { armored, fingerprint: generated.fingerprint },
    ];
  }
  await storage.write(next.map(({ armored }) => armored).join(""));

  const stored = await storage.read();
  const keys = stored === undefined ? [] : await readSigningKeys(stored);
  const expected = next.map(({ fingerprint }) => fingerprint);
  const actual = keys.map((key) => key.fingerprint);
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new KeygenError(
      `The ${storage.location} does not hold the keys just written (expected ${
        expected.join(", ")
      }, ` +
        `read back ${actual.join(", ") || "none"}); check who else writes it and run keygen again`,
    );
  }
  return {
    ...(added === undefined ? {} : { added }),
    ...(removed === undefined ? {} : { removed }),
    keys,
    keyring: publicKeyring(keys),
  };
}
