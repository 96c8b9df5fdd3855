import assert from "node:assert/strict";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import {
  invokeForceRebuild,
  LOG_TAIL_HEADING,
  logTailText,
  readRebuildAnswer,
  RebuildFailedError,
} from "../../tasks/lib/remote_rebuild.ts";

function fakeLambda(reply: () => Promise<unknown>) {
  const sent: { FunctionName?: string; InvocationType?: string; Payload?: Uint8Array }[] = [];
  const client = {
    send: (command: { input: (typeof sent)[number] }) => {
      sent.push(command.input);
      return reply();
    },
  } as unknown as LambdaClient;
  return { client, sent };
}

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

Deno.test("the deployed Lambda is invoked synchronously with force_rebuild and its counts returned", async () => {
  const { client, sent } = fakeLambda(() =>
    Promise.resolve({
      StatusCode: 200,
      Payload: encode({
        statusCode: 200,
        body: JSON.stringify({
          message: "Rebuilt",
          packages: 5,
          written: 3,
          skipped: 9,
          pruned: 0,
        }),
      }),
    })
  );
  const answer = await invokeForceRebuild(client, "kiro-publisher-dev");
  assert.equal(answer.packages, 5);
  assert.equal(sent[0]?.FunctionName, "kiro-publisher-dev");
  assert.equal(sent[0]?.InvocationType, "RequestResponse");
  assert.deepEqual(JSON.parse(new TextDecoder().decode(sent[0]?.Payload)), { force_rebuild: true });
});

Deno.test("the invoke asks for the log tail and hands it over decoded under its heading, also on failure", async () => {
  const log = "START RequestId: r1\nsigned 2 channels\nEND RequestId: r1\n";
  const { client, sent } = fakeLambda(() =>
    Promise.resolve({
      StatusCode: 200,
      FunctionError: "Unhandled",
      LogResult: btoa(log),
      Payload: encode({ errorType: "Error", errorMessage: "boom" }),
    })
  );
  const tails: string[] = [];
  await assert.rejects(
    () => invokeForceRebuild(client, "fn", { onLogTail: (text) => tails.push(text) }),
    RebuildFailedError,
  );
  assert.equal((sent[0] as { LogType?: string }).LogType, "Tail");
  assert.deepEqual(tails, [`${LOG_TAIL_HEADING}\n${log.trimEnd()}`]);
  assert.equal(logTailText(undefined), undefined);
});

Deno.test("a Lambda that throws fails the rebuild with its error type and message", async () => {
  const { client } = fakeLambda(() =>
    Promise.resolve({
      StatusCode: 200,
      FunctionError: "Unhandled",
      Payload: encode({ errorType: "TypeError", errorMessage: "boom in the handler" }),
    })
  );
  await assert.rejects(
    () => invokeForceRebuild(client, "fn"),
    (error: unknown) =>
      error instanceof RebuildFailedError &&
      /failed \(Unhandled\): TypeError: boom in the handler/.test(error.message),
  );
});

Deno.test("a 500 answer fails the rebuild with the handler's error", async () => {
  const { client } = fakeLambda(() =>
    Promise.resolve({
      StatusCode: 200,
      Payload: encode({
        statusCode: 500,
        body: JSON.stringify({ error: "Force rebuild failed: pool object missing" }),
      }),
    })
  );
  await assert.rejects(
    () => invokeForceRebuild(client, "fn"),
    /failed \(status 500\): Force rebuild failed: pool object missing/,
  );
  assert.throws(() => readRebuildAnswer({ statusCode: 200 }, { where: "x" }), /without a body/);
  assert.throws(
    () => readRebuildAnswer({ statusCode: 200, body: "not json" }, { where: "x" }),
    /not JSON/,
  );
});

Deno.test("an invoke that cannot reach the Lambda says what to check", async () => {
  const { client } = fakeLambda(() => {
    const error = new Error("The security token included in the request is invalid");
    error.name = "UnrecognizedClientException";
    return Promise.reject(error);
  });
  await assert.rejects(
    () => invokeForceRebuild(client, "fn"),
    /Cannot invoke the Lambda fn \(UnrecognizedClientException: .*\): check your AWS credentials/,
  );
});

// --- signing keys of an environment ----------------------------------------------------------

import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { loadSigningKeys } from "../../lambda/aws/signing_keys.ts";
import { generateSigningKey } from "../../lambda/signing/keys.ts";

function outputs(environment: "local" | "dev", signingKeySecretId: string): StackOutputs {
  return {
    environment,
    tableName: "t",
    legacyTableName: "l",
    bucketName: "b",
    functionName: "f",
    repoUrl: "https://r",
    signingKeySecretId,
    region: "us-east-1",
  };
}

Deno.test("signing keys come from the key file locally and from the secret on AWS", async () => {
  const key = await generateSigningKey({ name: "T", email: "t@example.invalid", type: "ed25519" });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/key.asc`, key.armoredPrivateKey);
    const noSecrets = {} as SecretsManagerClient;
    const local = await loadSigningKeys(outputs("local", `${dir}/key.asc`), { secrets: noSecrets });
    assert.equal(local[0]?.fingerprint, key.fingerprint);
    await assert.rejects(
      () => loadSigningKeys(outputs("local", `${dir}/missing.asc`), { secrets: noSecrets }),
      /Cannot read the signing key file .*missing\.asc \(ENOENT\)/,
    );

    const asked: string[] = [];
    const secrets = {
      send: (command: { input: { SecretId: string } }) => {
        asked.push(command.input.SecretId);
        return Promise.resolve({ SecretString: key.armoredPrivateKey });
      },
    } as unknown as SecretsManagerClient;
    const remote = await loadSigningKeys(outputs("dev", "kiro-signing-dev"), { secrets });
    assert.equal(remote[0]?.fingerprint, key.fingerprint);
    assert.deepEqual(asked, ["kiro-signing-dev"]);

    const publicOnly = {
      send: () => Promise.resolve({ SecretString: key.armoredPublicKey }),
    } as unknown as SecretsManagerClient;
    await assert.rejects(
      () => loadSigningKeys(outputs("dev", "s"), { secrets: publicOnly }),
      (error: unknown) =>
        error instanceof Error && /Cannot use the Secrets Manager secret s: /.test(error.message) &&
        !error.message.includes("BEGIN PGP"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
