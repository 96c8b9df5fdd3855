import assert from "node:assert/strict";
import { awsClients } from "../../lambda/aws/clients.ts";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";

const prod: StackOutputs = {
  environment: "prod",
  tableName: "t-prod",
  legacyTableName: "l-prod",
  bucketName: "b-prod",
  functionName: "f-prod",
  repoUrl: "https://apt.example",
  signingKeySecretId: "s",
  region: "eu-west-1",
};
async function retryMode(config: { retryMode: string | (() => Promise<string>) }) {
  return typeof config.retryMode === "string" ? config.retryMode : await config.retryMode();
}

const local: StackOutputs = {
  ...prod,
  environment: "local",
  region: "us-east-1",
  endpoints: { dynamodb: "http://127.0.0.1:4567", s3: "http://127.0.0.1:4568" },
};

Deno.test("clients are created once per outputs and retry options", () => {
  const a = awsClients(prod);
  try {
    assert.equal(awsClients(prod), a);
    assert.equal(a.s3, a.s3, "each client is created once");
    assert.equal(a.dynamo, a.dynamo);
    assert.notEqual(awsClients({ ...prod }), a, "other outputs, other clients");
    assert.notEqual(awsClients(prod, { maxAttempts: 2 }), a);
  } finally {
    a.destroy();
    awsClients({ ...prod }).destroy();
    awsClients(prod, { maxAttempts: 2 }).destroy();
  }
  const b = awsClients(prod);
  assert.notEqual(b, a, "destroyed clients are forgotten");
  b.destroy();
});

Deno.test("AWS clients use the outputs' region and the SDK's retry strategy", async () => {
  const clients = awsClients(prod, { maxAttempts: 7, retryMode: "standard" });
  try {
    for (const client of [clients.s3, clients.dynamoRaw, clients.lambda, clients.sns]) {
      assert.equal(await client.config.region(), "eu-west-1");
      assert.equal(await client.config.maxAttempts(), 7);
      assert.equal(await retryMode(client.config), "standard");
    }
    assert.equal(clients.s3.config.forcePathStyle, false);
    assert.equal(clients.s3.config.endpoint, undefined);
  } finally {
    clients.destroy();
  }
});

Deno.test("local clients point at the stand-ins, path-style, with dummy credentials", async () => {
  const clients = awsClients(local);
  try {
    assert.equal(await retryMode(clients.dynamoRaw.config), "adaptive");
    assert.equal(await clients.dynamoRaw.config.maxAttempts(), 5);
    const dynamoEndpoint = await clients.dynamoRaw.config.endpoint?.();
    assert.equal(dynamoEndpoint?.hostname, "127.0.0.1");
    assert.equal(dynamoEndpoint?.port, 4567);
    const s3Endpoint = await clients.s3.config.endpoint?.();
    assert.equal(s3Endpoint?.port, 4568);
    assert.equal(clients.s3.config.forcePathStyle, true);
    const credentials = await clients.s3.config.credentials();
    assert.equal(typeof credentials.accessKeyId, "string");
  } finally {
    clients.destroy();
  }
});

Deno.test("no client has the SDK's logger middleware, which walks every output for a logger we do not give", () => {
  const clients = awsClients({ ...prod });
  try {
    for (
      const name of ["dynamo", "dynamoRaw", "s3", "lambda", "secrets", "cloudfront", "sns"] as const
    ) {
      const stack = clients[name].middlewareStack.identify();
      assert.ok(stack.length > 5, `${name} has its middleware`);
      assert.deepEqual(stack.filter((entry) => entry.startsWith("loggerMiddleware")), [], name);
    }
  } finally {
    clients.destroy();
  }
});
