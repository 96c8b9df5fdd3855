/**
 * `deno task postdeploy`: against the local stack (every check passes after a
 * real force rebuild), and with what goes wrong after a deployment — a
 * missing table, a tampered InRelease, a keyring without the signing key, a
 * secret without a value, a function configured for other resources.
 */

import assert from "node:assert/strict";
import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { AwsClients } from "../../lambda/aws/clients.ts";
import { generateSigningKey, publicKeyring, readSigningKeys } from "../../lambda/signing/keys.ts";
import { startLocalStack, writeStackRecord } from "../../tasks/lib/local_stack.ts";
import { main, postdeploy, type PostdeployReport } from "../../tasks/postdeploy.ts";
import { startTestStack } from "../support/stack.ts";

function checkOf(report: PostdeployReport, name: string) {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found, `no check named ${name}`);
  return found;
}

Deno.test("postdeploy passes every check against the local stack after a force rebuild", async () => {
  const stack = await startTestStack();
  try {
    const report = await postdeploy(stack.outputs);
    assert.deepEqual(report.checks.filter((c) => !c.ok), []);
    assert.ok(report.ok);
    assert.deepEqual(report.checks.map((c) => c.name), [
      "table",
      "bucket",
      "signing key secret",
      "function",
      "signing keys",
      "force rebuild",
      "published InRelease",
    ]);
    assert.equal(checkOf(report, "function").skipped, true);
    const [key] = await readSigningKeys(await Deno.readTextFile(stack.outputs.signingKeySecretId));
    assert.match(
      checkOf(report, "published InRelease").detail,
      new RegExp(`InRelease verifies \\(1 signature: ${key?.signingFingerprint.slice(-16)}\\)`),
    );
  } finally {
    await stack.close();
  }
});

Deno.test("a missing table fails with a clear error while the other checks still run", async () => {
  const stack = await startTestStack();
  try {
    await stack.clients.dynamoRaw.send(
      new DeleteTableCommand({ TableName: stack.outputs.tableName }),
    );
    const report = await postdeploy(stack.outputs);
    assert.equal(report.ok, false);
    const table = checkOf(report, "table");
    assert.equal(table.ok, false);
    assert.equal(
      table.detail,
      "the table kiro-debian-repo-manager-packages-local does not exist in us-east-1 " +
        "(DescribeTable: ResourceNotFoundException); deploy the stack (pulumi up -s local) or fix the stack outputs",
    );
    assert.equal(checkOf(report, "bucket").ok, true);
    assert.equal(checkOf(report, "force rebuild").ok, false);
  } finally {
    await stack.close();
  }
});

Deno.test("deno task postdeploy local exits 0 on a healthy stack and 1 once its table is gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-postdeploy-" });
  const previous = Deno.env.get("KIRO_LOCAL_DIR");
  Deno.env.set("KIRO_LOCAL_DIR", dir);
  const stack = await startLocalStack({ dir, persist: false, ports: { dynamodb: 0, s3: 0 } });
  const lines: string[] = [];
  const { error } = console;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await writeStackRecord(stack);
    assert.equal(await main(["local"]), 0, lines.join("\n"));
    assert.match(lines.join("\n"), /local: all 7 checks passed/);
    lines.length = 0;
    const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
    const dynamo = new DynamoDBClient({
      endpoint: stack.outputs.endpoints?.dynamodb as string,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    await dynamo.send(new DeleteTableCommand({ TableName: stack.outputs.tableName }));
    dynamo.destroy();
    assert.equal(await main(["local", "--skip-rebuild"]), 1);
    const out = lines.join("\n");
    assert.match(
      out,
      /FAIL {2}table: the table kiro-debian-repo-manager-packages-local does not exist/,
    );
    assert.match(out, /local: 1 of 7 checks failed \(table\)/);
    assert.equal(await main(["--env", "staging"]), 2);
  } finally {
    console.error = error;
    await stack.close();
    if (previous === undefined) Deno.env.delete("KIRO_LOCAL_DIR");
    else Deno.env.set("KIRO_LOCAL_DIR", previous);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a tampered InRelease or a keyring without the signing key fails the published check", async () => {
  const stack = await startTestStack();
  try {
    assert.ok((await postdeploy(stack.outputs)).ok);
    const tamper = (body: string) => body.replace("Suite: stable", "Suite: stab1e");
    const tampered: typeof fetch = async (input, init) => {
      const url = String(input);
      const response = await fetch(input, init);
      if (!/\/(In)?Release$/.test(url)) return response;
      return new Response(tamper(await response.text()), { status: 200 });
    };
    const report = await postdeploy(stack.outputs, { skipRebuild: true, fetch: tampered });
    const published = checkOf(report, "published InRelease");
    assert.equal(published.ok, false);
    assert.match(
      published.detail,
      /InRelease has a signature that does not verify with the published keyring/,
    );

    const stranger = await readSigningKeys(
      (await generateSigningKey({ name: "Stranger", email: "x@example.com", type: "ed25519" }))
        .armoredPrivateKey,
    );
    const otherKeyring: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/kiro-archive-keyring.pgp")) {
        return new Response(new Uint8Array(publicKeyring(stranger)), { status: 200 });
      }
      return await fetch(input, init);
    };
    const wrongKeyring = await postdeploy(stack.outputs, {
      skipRebuild: true,
      fetch: otherKeyring,
    });
    assert.match(
      checkOf(wrongKeyring, "published InRelease").detail,
      /the published keyring lacks the signing key [0-9A-F]{40}/,
    );

    const missing: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/InRelease")) return new Response("no", { status: 404 });
      return await fetch(input, init);
    };
    const notFound = await postdeploy(stack.outputs, { skipRebuild: true, fetch: missing });
    assert.match(
      checkOf(notFound, "published InRelease").detail,
      /fetching .*\/dists\/stable\/InRelease answered HTTP 404/,
    );
  } finally {
    await stack.close();
  }
});

/** Stand-ins for the Lambda (GetFunction) and Secrets Manager (DescribeSecret) APIs. */
function startAwsApis(state: { variables: Record<string, string>; secretHasValue: boolean }) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname.startsWith("/2015-03-31/functions/")) {
      return Response.json({
        Configuration: {
          FunctionName: decodeURIComponent(url.pathname.split("/")[3] ?? ""),
          Runtime: "nodejs22.x",
          Architectures: ["arm64"],
          MemorySize: 2048,
          Timeout: 900,
          State: "Active",
          LastUpdateStatus: "Successful",
          Environment: { Variables: state.variables },
        },
      });
    }
    const target = request.headers.get("x-amz-target") ?? "";
    const body = await request.json() as { SecretId: string };
    if (target === "secretsmanager.DescribeSecret") {
      return Response.json({
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${body.SecretId}-AbCdEf`,
        Name: body.SecretId,
        KmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/abc",
        ...(state.secretHasValue ? { VersionIdsToStages: { v1: ["AWSCURRENT"] } } : {}),
      });
    }
    return Response.json({ __type: "InvalidRequestException", message: target }, { status: 400 });
  });
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  const credentials = { accessKeyId: "test", secretAccessKey: "test" };
  const lambda = new LambdaClient({ endpoint, region: "us-east-1", credentials });
  const secrets = new SecretsManagerClient({ endpoint, region: "us-east-1", credentials });
  return {
    lambda,
    secrets,
    async close() {
      lambda.destroy();
      secrets.destroy();
      await server.shutdown();
    },
  };
}

Deno.test("on AWS, postdeploy checks the secret has a value and the function is configured with the stack's names", async () => {
  const stack = await startTestStack();
  const outputs = {
    ...stack.outputs,
    environment: "dev" as const,
    functionName: "kiro-debian-repo-manager-publisher-dev",
    signingKeySecretId: "kiro-debian-repo-manager-signing-key-dev",
    notificationTopicArn:
      "arn:aws:sns:us-east-1:123456789012:kiro-debian-repo-manager-notifications-dev",
  };
  const state = {
    variables: {
      TABLE_NAME: outputs.tableName,
      BUCKET_NAME: outputs.bucketName,
      SIGNING_KEY_SECRET_ID: outputs.signingKeySecretId,
      REPO_URL: outputs.repoUrl,
      NOTIFICATION_TOPIC_ARN: outputs.notificationTopicArn,
    } as Record<string, string>,
    secretHasValue: true,
  };
  const apis = startAwsApis(state);
  try {
    const clients = {
      dynamoRaw: stack.clients.dynamoRaw,
      s3: stack.clients.s3,
      lambda: apis.lambda,
      secrets: apis.secrets,
    } as unknown as AwsClients;
    const healthy = await postdeploy(outputs, { clients, skipRebuild: true });
    assert.equal(checkOf(healthy, "function").ok, true, checkOf(healthy, "function").detail);
    assert.match(
      checkOf(healthy, "function").detail,
      /is Active \(nodejs22\.x, arm64, 2048 MB, timeout 900 s\)/,
    );
    assert.equal(checkOf(healthy, "signing key secret").ok, true);
    assert.match(checkOf(healthy, "signing key secret").detail, /has a value \(KMS-encrypted\)/);

    state.secretHasValue = false;
    state.variables.TABLE_NAME = "kiro-debian-repo-manager-packages-prod";
    const broken = await postdeploy(outputs, { clients, skipRebuild: true });
    assert.equal(broken.ok, false);
    assert.equal(
      checkOf(broken, "signing key secret").detail,
      "the secret kiro-debian-repo-manager-signing-key-dev has no value yet; run deno task keygen --env dev",
    );
    assert.match(
      checkOf(broken, "function").detail,
      /TABLE_NAME is "kiro-debian-repo-manager-packages-prod", expected kiro-debian-repo-manager-packages-local/,
    );
  } finally {
    await apis.close();
    await stack.close();
  }
});
