/**
 * Loading the repository signing key(s) of an environment: from Secrets
 * Manager on AWS, from the key file under `.local/` for `local`. The secret
 * (or file) holds one or more armored private keys, concatenated (two during
 * a rotation). Key material never reaches a log or an error message.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { StackOutputs } from "../environment/outputs.ts";
import { readSigningKeys, type SigningKey } from "../signing/keys.ts";

/** Where the signing keys come from. */
export type SigningKeySource =
  | { kind: "file"; path: string }
  | { kind: "secret"; secretId: string };

/** The key source of an environment: a file for `local`, else the Secrets Manager secret. */
export function signingKeySource(outputs: StackOutputs): SigningKeySource {
  // The stand-ins (local, or a test's dev/prod pair) have no Secrets Manager: a key file.
  return outputs.environment === "local" || outputs.endpoints !== undefined
    ? { kind: "file", path: outputs.signingKeySecretId }
    : { kind: "secret", secretId: outputs.signingKeySecretId };
}

/**
 * Reads the armored signing key(s) of `outputs`' environment and parses
 * them. Throws with a message naming the secret or file (never its content).
 */
export async function loadSigningKeys(
  outputs: StackOutputs,
  clients: { secrets: SecretsManagerClient },
): Promise<SigningKey[]> {
  const source = signingKeySource(outputs);
  let armored: string;
  let where: string;
  if (source.kind === "file") {
    where = `the signing key file ${source.path}`;
    try {
      armored = await readFile(source.path, "utf8");
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new Error(
        `Cannot read ${where} (${code ?? String(error)}): start the local stack once ` +
          "(deno task dev) to create it, or point signingKeySecretId at a key file",
        { cause: error },
      );
    }
  } else {
    where = `the Secrets Manager secret ${source.secretId}`;
    let value;
    try {
      value = await clients.secrets.send(new GetSecretValueCommand({ SecretId: source.secretId }));
    } catch (error) {
      const name = error instanceof Error ? error.name : String(error);
      throw new Error(
        `Cannot read ${where} (${name}): check that it exists and that this role may read it; ` +
          "deploy the stack and store the key (see the README, signing keys)",
        { cause: error },
      );
    }
    if (value.SecretString === undefined || value.SecretString.trim() === "") {
      throw new Error(`Cannot use ${where}: it has no text value; store the armored private key`);
    }
    armored = value.SecretString;
  }
  try {
    return await readSigningKeys(armored);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot use ${where}: ${why}`, { cause: error });
  }
}
