import assert from "node:assert/strict";
import { parseStackOutputs, StackOutputsError } from "../../tasks/lib/stack_outputs.ts";

const prod = {
  environment: "prod",
  tableName: "kiro-debian-repo-manager-packages-prod",
  legacyTableName: "kiro-package-versions-prod",
  bucketName: "kiro-debian-repo-manager-repo-prod",
  functionName: "kiro-debian-repo-manager-publisher-prod",
  repoUrl: "https://apt.kiro.dev/",
  distributionId: "E2ABC",
  signingKeySecretId: "kiro-debian-repo-manager-signing-key-prod",
  notificationTopicArn: "arn:aws:sns:us-east-1:1:t",
  region: "us-east-1",
  somethingElse: 1,
};

function rejects(json: unknown, pattern: RegExp, environment?: "local" | "dev" | "prod") {
  assert.throws(
    () =>
      parseStackOutputs(json, { source: "outputs.json", ...(environment ? { environment } : {}) }),
    (e: unknown) => e instanceof StackOutputsError && pattern.test(e.message),
  );
}

Deno.test("valid outputs parse, drop unknown fields and the repoUrl's trailing slash", () => {
  const outputs = parseStackOutputs(prod, { source: "outputs.json" });
  assert.deepEqual(outputs, {
    ...Object.fromEntries(Object.entries(prod).filter(([k]) => k !== "somethingElse")),
    repoUrl: "https://apt.kiro.dev",
  });
  assert.deepEqual(parseStackOutputs(JSON.stringify(prod), { source: "x" }), outputs);
});

Deno.test("optional outputs may be absent", () => {
  const { distributionId: _, notificationTopicArn: __, ...bare } = prod;
  const outputs = parseStackOutputs(bare, { source: "x" });
  assert.equal("distributionId" in outputs, false);
  assert.equal("notificationTopicArn" in outputs, false);
});

Deno.test("errors name the source and the field", () => {
  const { tableName: _, bucketName: __, ...missing } = prod;
  rejects(
    missing,
    /^Cannot read the stack outputs from outputs\.json: tableName, bucketName are missing/,
  );
  rejects({ ...prod, region: "" }, /outputs\.json: region must be a non-empty string/);
  rejects({ ...prod, tableName: 5 }, /tableName must be a non-empty string/);
  rejects(
    { ...prod, repoUrl: "s3://bucket" },
    /repoUrl must be an http\(s\) URL \(got "s3:\/\/bucket"\)/,
  );
  rejects(
    { ...prod, environment: "qa" },
    /environment must be one of local, dev, prod \(got "qa"\)/,
  );
  rejects("{ nope", /outputs\.json: invalid JSON/);
  rejects([prod], /expected a JSON object of outputs/);
  rejects(prod, /environment is "prod" but the outputs were read for "dev"/, "dev");
});

Deno.test("the environment may come from the caller when the outputs lack it", () => {
  const { environment: _, ...noEnv } = prod;
  assert.equal(parseStackOutputs(noEnv, { source: "x", environment: "prod" }).environment, "prod");
  rejects(noEnv, /environment is missing/);
});

Deno.test("local outputs need both endpoints as URLs", () => {
  const local = {
    ...prod,
    environment: "local",
    endpoints: { dynamodb: "http://127.0.0.1:1", s3: "http://127.0.0.1:2" },
  };
  assert.deepEqual(parseStackOutputs(local, { source: "x" }).endpoints, local.endpoints);
  rejects({ ...local, endpoints: undefined }, /endpoints is missing/);
  rejects(
    { ...local, endpoints: { dynamodb: "http://127.0.0.1:1" } },
    /endpoints\.s3 must be an http\(s\) URL/,
  );
  rejects({ ...local, endpoints: "http://x" }, /endpoints must be an object/);
});
