/**
 * `deno task keygen --env ENV [--rotate] [--type ed25519|rsa4096]`: creates the
 * repository signing key of an environment and stores its private part where
 * the publisher reads it — the stack's Secrets Manager secret (dev, prod) or
 * the `.local/` key file (local). The value is never printed, logged, or put
 * in Pulumi's state.
 *
 * The stored value is the concatenation of the armored private keys: with
 * `--rotate` a new key joins the existing ones (the publisher then signs with
 * both and publishes both public keys), and `--retire FINGERPRINT` removes an
 * old key once every client has the new keyring (`kiro-repo` ships it).
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
import { awsClients } from "../lambda/aws/clients.ts";
import type { EnvironmentName } from "../lambda/environment/outputs.ts";
import {
  generateSigningKey,
  publicKeyring,
  readSigningKeys,
  type SigningKey,
  SigningKeyError,
  type SigningKeyType,
} from "../lambda/signing/keys.ts";
import { ENV_OPTION, parseCommandLine, UsageError } from "./lib/cli.ts";
import { environmentName, readStackOutputs, taskFailureCode } from "./lib/env.ts";
import { localPorts, localStackOutputs, localStateDir } from "./lib/local_stack.ts";

/** The key types keygen offers (DESIGN.md §6: Ed25519 or RSA ≥ 3072). */
export const KEYGEN_TYPES = ["ed25519", "rsa4096"] as const satisfies readonly SigningKeyType[];

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

function describeKey(key: SigningKey): string {
  return `${key.fingerprint}  ${key.algorithm}  ${key.userIds.join(", ")}  created ${
    key.created.toISOString().slice(0, 10)
  }`;
}

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "keygen",
    summary: "Create, rotate or retire an environment's repository signing key",
    description:
      "The private key goes to the stack's Secrets Manager secret (dev, prod; created by\n" +
      "pulumi up without a value) or to the local key file; it is never printed. The publisher\n" +
      "signs with every stored key and writes their public keys to /kiro-archive-keyring.pgp on\n" +
      "its next rebuild (deno task rebuild ENV); kiro-repo ships that keyring to users\n" +
      "(deno task build-kiro-repo --env ENV).\n\n" +
      "Rotation: --rotate adds a new key (the repository is then signed by both); publish a new\n" +
      "kiro-repo, wait until clients have it, then --retire the old key.",
    options: {
      env: ENV_OPTION,
      rotate: { type: "boolean", description: "add a new key alongside the existing one(s)" },
      retire: {
        type: "string",
        valueName: "FINGERPRINT",
        description: "remove this key (after a rotation; never the last one)",
      },
      type: {
        type: "string",
        valueName: "TYPE",
        choices: KEYGEN_TYPES,
        default: "ed25519",
        description: "key type of a new key: ed25519 or rsa4096",
      },
      name: {
        type: "string",
        valueName: "NAME",
        description:
          'the key\'s user ID name (default "Kiro Archive Signing Key", plus the environment outside prod)',
      },
      email: {
        type: "string",
        valueName: "EMAIL",
        description: "the key's user ID e-mail (optional)",
      },
      "keyring-out": {
        type: "string",
        valueName: "FILE",
        description: "also write the public keyring (binary OpenPGP) to FILE",
      },
    },
    examples: [
      "deno task keygen --env dev",
      "deno task keygen --env prod --type rsa4096",
      "deno task keygen --env prod --rotate",
      "deno task keygen --env prod --retire 0123456789ABCDEF",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const { values } = cli;
  try {
    if (values.rotate && values.retire !== undefined) {
      throw new UsageError("Give either --rotate or --retire, not both");
    }
    const env: EnvironmentName = environmentName({ env: values.env });
    const outputs = env === "local"
      ? localStackOutputs({ dir: localStateDir(), ports: localPorts() })
      : await readStackOutputs(env);
    const clients = env === "local" ? undefined : awsClients(outputs);
    try {
      const storage = clients === undefined
        ? fileStorage(outputs.signingKeySecretId)
        : secretsManagerStorage(clients.secrets, outputs.signingKeySecretId);
      const name = values.name ??
        (env === "prod" ? "Kiro Archive Signing Key" : `Kiro Archive Signing Key (${env})`);
      const type = (values.type ?? "ed25519") as SigningKeyType;
      const action: KeygenAction = values.retire !== undefined
        ? { kind: "retire", fingerprint: values.retire }
        : {
          kind: values.rotate ? "rotate" : "create",
          type,
          name,
          email: values.email ?? DEFAULT_KEY_EMAIL,
        };
      if (action.kind !== "retire") {
        console.error(`Generating a new ${type} signing key for ${env}…`);
      }
      const result = await updateSigningKeys(storage, action);
      if (result.added !== undefined) console.log(`Added signing key ${result.added}`);
      if (result.removed !== undefined) console.log(`Retired signing key ${result.removed}`);
      console.log(`The ${storage.location} now holds ${result.keys.length} key(s):`);
      for (const key of result.keys) console.log(`  ${describeKey(key)}`);
      if (values["keyring-out"] !== undefined) {
        await Deno.writeFile(values["keyring-out"], result.keyring);
        console.log(`Wrote the public keyring to ${values["keyring-out"]}`);
      }
      console.log(
        `Next: deno task rebuild ${env} (the publisher signs with these keys and writes ` +
          `/kiro-archive-keyring.pgp), then deno task build-kiro-repo --env ${env} (ships the keyring to users)`,
      );
      return 0;
    } finally {
      clients?.destroy();
    }
  } catch (error) {
    return taskFailureCode(error, "keygen", { failures: [KeygenError, SigningKeyError] });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
