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
 * The engine is `tasks/keys/rotation.ts`.
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import type { EnvironmentName } from "../lambda/environment/outputs.ts";
import { type SigningKey, SigningKeyError, type SigningKeyType } from "../lambda/signing/keys.ts";
import {
  DEFAULT_KEY_EMAIL,
  fileStorage,
  KEYGEN_TYPES,
  type KeygenAction,
  KeygenError,
  secretsManagerStorage,
  updateSigningKeys,
} from "./keys/rotation.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine, printJson, UsageError } from "./lib/cli.ts";
import { environmentName, readStackOutputs, taskFailureCode } from "./lib/env.ts";
import { localPorts, localStackOutputs, localStateDir } from "./lib/local_stack.ts";

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
        description: "key type of a new key",
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
      json: JSON_OPTION,
    },
    examples: [
      "deno task keygen dev",
      "deno task keygen --env prod --type rsa4096",
      "deno task keygen --env prod --rotate --json",
      "deno task keygen --env prod --retire 0123456789ABCDEF",
      'deno task keygen local --name "Kiro Test Key" --email test@example.com --keyring-out k.pgp',
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
      if (values["keyring-out"] !== undefined) {
        await Deno.writeFile(values["keyring-out"], result.keyring);
      }
      const next = `deno task rebuild ${env} (the publisher signs with these keys and writes ` +
        `/kiro-archive-keyring.pgp), then deno task build-kiro-repo --env ${env} (ships the keyring to users)`;
      if (values.json) {
        // Public facts only: fingerprints, algorithms, user IDs, dates; never key material.
        printJson({
          environment: env,
          storage: storage.location,
          added: result.added ?? null,
          removed: result.removed ?? null,
          keys: result.keys.map((key) => ({
            fingerprint: key.fingerprint,
            algorithm: key.algorithm,
            user_ids: key.userIds,
            created: key.created.toISOString(),
          })),
          keyring_out: values["keyring-out"] ?? null,
          next,
        });
        return 0;
      }
      if (result.added !== undefined) console.log(`Added signing key ${result.added}`);
      if (result.removed !== undefined) console.log(`Retired signing key ${result.removed}`);
      console.log(`The ${storage.location} now holds ${result.keys.length} key(s):`);
      for (const key of result.keys) console.log(`  ${describeKey(key)}`);
      if (values["keyring-out"] !== undefined) {
        console.log(`Wrote the public keyring to ${values["keyring-out"]}`);
      }
      console.log(`Next: ${next}`);
      return 0;
    } finally {
      clients?.destroy();
    }
  } catch (error) {
    return taskFailureCode(error, "keygen", { failures: [KeygenError, SigningKeyError] });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
