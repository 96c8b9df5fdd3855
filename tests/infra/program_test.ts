/**
 * The Pulumi program, run with mocks for the dev and prod stacks' own config
 * files (no Pulumi CLI, no AWS): what it creates, how it is secured, and what
 * it exports.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { parseStackOutputs } from "../../tasks/lib/stack_outputs.ts";
import { LONG_TTL, SHORT_TTL } from "../../infra/cdn.ts";
import {
  PUBLISHER_EPHEMERAL_STORAGE_MB,
  PUBLISHER_MEMORY_MB,
  PUBLISHER_TIMEOUT_SECONDS,
} from "../../infra/publisher.ts";
import { PROJECT_NAME } from "../../infra/settings.ts";
import {
  loadProgramWithMocks,
  type MockedStack,
  onlyResource,
  type RecordedResource,
  resourcesOfType,
  runProgramWithMocks,
  stackConfig,
} from "../support/pulumi_mocks.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REAL_ENTRY = join(ROOT, "lambda", "handler.ts");
const STACKS = ["dev", "prod"] as const;
type Stack = (typeof STACKS)[number];

const OUTPUT_KEYS = [
  "environment",
  "architectures",
  "tableName",
  "legacyTableName",
  "bucketName",
  "functionName",
  "repoUrl",
  "distributionId",
  "signingKeySecretId",
  "notificationTopicArn",
  "region",
  "channels",
];

/** The Lambda entry: the real handler when it exists, else a fixture (and says so). */
let fixtureDir: string | undefined;
function lambdaEntry(): string {
  if (existsSync(REAL_ENTRY)) return REAL_ENTRY;
  if (fixtureDir === undefined) {
    fixtureDir = Deno.makeTempDirSync({ prefix: "kiro-infra-entry-" });
    const dir = fixtureDir;
    Deno.writeTextFileSync(
      join(dir, "handler.ts"),
      "export async function handler(event: unknown): Promise<unknown> {\n  return { fixture: true, event };\n}\n",
    );
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    console.error(
      "lambda/handler.ts does not exist yet (the publish helper writes it): the program tests bundle a " +
        "fixture handler instead; they bundle the real one once it is there",
    );
  }
  return join(fixtureDir, "handler.ts");
}

function configFor(stack: string, overrides: Record<string, string | undefined> = {}) {
  return stackConfig(stack, {
    root: ROOT,
    overrides: { [`${PROJECT_NAME}:lambdaEntry`]: lambdaEntry(), ...overrides },
  });
}

function run(
  stack: string,
  overrides: Record<string, string | undefined> = {},
): Promise<MockedStack> {
  return runProgramWithMocks({
    project: PROJECT_NAME,
    stack,
    config: configFor(stack, overrides),
    load: () => import("../../infra/index.ts"),
  });
}

const runs = new Map<Stack, Promise<MockedStack>>();
/** The stack as deployed from its own Pulumi.{stack}.yaml (run once per file). */
function deployed(stack: Stack): Promise<MockedStack> {
  let result = runs.get(stack);
  if (result === undefined) {
    result = run(stack);
    runs.set(stack, result);
  }
  return result;
}

/** The stack's own config file, as YAML values (`project:key` → value). */
function yamlConfig(stack: Stack): Record<string, unknown> {
  const text = Deno.readTextFileSync(join(ROOT, `Pulumi.${stack}.yaml`));
  return (parse(text) as { config: Record<string, unknown> }).config;
}

function arnOf(resource: RecordedResource): string {
  const arn = resource.state.arn;
  assert.equal(typeof arn, "string", `${resource.type} ${resource.name} has no ARN`);
  return arn as string;
}

interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

function statements(policyJson: unknown): Statement[] {
  assert.equal(typeof policyJson, "string", "a policy must be a JSON string");
  const document = JSON.parse(policyJson as string) as { Statement: Statement[] };
  return document.Statement;
}

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

/** The AWS name of each named resource type (the input that names it). */
const NAME_INPUTS: Record<string, string> = {
  "aws:dynamodb/table:Table": "name",
  "aws:s3/bucket:Bucket": "bucket",
  "aws:kms/alias:Alias": "name",
  "aws:secretsmanager/secret:Secret": "name",
  "aws:sns/topic:Topic": "name",
  "aws:sqs/queue:Queue": "name",
  "aws:cloudwatch/logGroup:LogGroup": "name",
  "aws:iam/role:Role": "name",
  "aws:iam/rolePolicy:RolePolicy": "name",
  "aws:lambda/function:Function": "name",
  "aws:cloudwatch/eventRule:EventRule": "name",
  "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
  "aws:cloudfront/originAccessControl:OriginAccessControl": "name",
  "aws:cloudfront/cachePolicy:CachePolicy": "name",
  "aws:cloudfront/distribution:Distribution": "comment",
};

for (const stack of STACKS) {
  const other = stack === "dev" ? "prod" : "dev";

  Deno.test(`${stack}: the program registers every cloud resource inside one of its components`, async () => {
    const result = await deployed(stack);
    const custom = result.resources.filter((resource) => resource.custom);
    assert.deepEqual(custom.map((resource) => resource.type).sort(), [
      "aws:cloudfront/cachePolicy:CachePolicy",
      "aws:cloudfront/cachePolicy:CachePolicy",
      "aws:cloudfront/distribution:Distribution",
      "aws:cloudfront/originAccessControl:OriginAccessControl",
      "aws:cloudwatch/eventRule:EventRule",
      "aws:cloudwatch/eventTarget:EventTarget",
      "aws:cloudwatch/logGroup:LogGroup",
      "aws:cloudwatch/metricAlarm:MetricAlarm",
      "aws:cloudwatch/metricAlarm:MetricAlarm",
      "aws:cloudwatch/metricAlarm:MetricAlarm",
      "aws:cloudwatch/metricAlarm:MetricAlarm",
      "aws:dynamodb/table:Table",
      "aws:iam/role:Role",
      "aws:iam/rolePolicy:RolePolicy",
      "aws:kms/alias:Alias",
      "aws:kms/key:Key",
      "aws:lambda/function:Function",
      "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
      "aws:lambda/permission:Permission",
      "aws:s3/bucket:Bucket",
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
      "aws:s3/bucketPolicy:BucketPolicy",
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "aws:s3/bucketVersioning:BucketVersioning",
      "aws:secretsmanager/secret:Secret",
      "aws:sns/topic:Topic",
      "aws:sns/topicPolicy:TopicPolicy",
      "aws:sqs/queue:Queue",
    ]);
    const componentTypes = result.resources
      .filter((resource) => resource.type.startsWith("kiro:infra:"))
      .map((resource) => resource.type)
      .sort();
    assert.deepEqual(componentTypes, [
      "kiro:infra:Alarms",
      "kiro:infra:Cdn",
      "kiro:infra:EncryptionKey",
      "kiro:infra:Notifications",
      "kiro:infra:Publisher",
      "kiro:infra:Schedule",
      "kiro:infra:SigningKeySecret",
      "kiro:infra:Storage",
    ]);
    const cloudUrns = result.urns.filter((urn) => urn.includes("$aws:"));
    assert.equal(cloudUrns.length, custom.length);
    for (const urn of cloudUrns) {
      assert.match(urn, /::kiro:infra:[A-Za-z]+\$aws:/, `${urn} has no component parent`);
    }
    const componentUrns = result.urns.filter((u) => /kiro:infra:[A-Za-z]+::[^:]+$/.test(u));
    assert.equal(componentUrns.length, componentTypes.length);
    for (const urn of componentUrns) {
      assert.match(urn, /::pulumi:pulumi:Stack\$kiro:infra:/, `${urn} is not a child of the stack`);
    }
  });

  Deno.test(`${stack}: every resource name carries the environment`, async () => {
    const result = await deployed(stack);
    let named = 0;
    for (const resource of result.resources.filter((r) => r.custom)) {
      const input = NAME_INPUTS[resource.type];
      if (input === undefined) continue;
      const name = resource.inputs[input];
      assert.equal(typeof name, "string", `${resource.type} ${resource.name} has no ${input}`);
      assert.match(
        name as string,
        new RegExp(`^(alias/|/aws/lambda/)?kiro-debian-repo-manager-[a-z0-9-]+-${stack}$`),
        `${resource.type} is named "${name}"`,
      );
      assert.ok(!(name as string).includes(`-${other}`), `${name} names the other environment`);
      named++;
    }
    assert.ok(named >= 18, `only ${named} named resources`);
  });

  Deno.test(`${stack}: the bucket is private and only this distribution may read it`, async () => {
    const result = await deployed(stack);
    const bucket = onlyResource(result, "aws:s3/bucket:Bucket");
    const bucketArn = arnOf(bucket);
    assert.equal(bucket.inputs.acl, undefined, "the bucket must have no ACL");
    assert.equal(bucket.inputs.grants, undefined, "the bucket must have no ACL grants");
    assert.equal(resourcesOfType(result, "aws:s3/bucketAcl:BucketAcl").length, 0);

    const block = onlyResource(result, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
    assert.equal(block.inputs.bucket, bucket.id);
    for (
      const setting of [
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
      ]
    ) {
      assert.equal(block.inputs[setting], true, `${setting} must be true`);
    }
    const ownership = onlyResource(
      result,
      "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    );
    assert.deepEqual(ownership.inputs.rule, { objectOwnership: "BucketOwnerEnforced" });

    const distribution = onlyResource(result, "aws:cloudfront/distribution:Distribution");
    const policy = onlyResource(result, "aws:s3/bucketPolicy:BucketPolicy");
    assert.equal(policy.inputs.bucket, bucket.id);
    const allows = statements(policy.inputs.policy).filter((s) => s.Effect === "Allow");
    assert.ok(allows.length > 0);
    for (const statement of allows) {
      assert.deepEqual(statement.Principal, { Service: "cloudfront.amazonaws.com" });
      assert.deepEqual(statement.Condition, {
        StringEquals: { "AWS:SourceArn": arnOf(distribution) },
      });
      for (const action of list(statement.Action)) {
        assert.match(action, /^s3:(GetObject|ListBucket)$/);
      }
      for (const resource of list(statement.Resource)) {
        assert.ok(resource === bucketArn || resource === `${bucketArn}/*`, resource);
      }
    }
    for (const statement of statements(policy.inputs.policy).filter((s) => s.Effect !== "Allow")) {
      assert.equal(statement.Effect, "Deny");
      assert.deepEqual(statement.Condition, { Bool: { "aws:SecureTransport": "false" } });
    }

    const oac = onlyResource(result, "aws:cloudfront/originAccessControl:OriginAccessControl");
    assert.equal(oac.inputs.originAccessControlOriginType, "s3");
    assert.equal(oac.inputs.signingBehavior, "always");
    assert.equal(oac.inputs.signingProtocol, "sigv4");
    const origins = distribution.inputs.origins as Record<string, unknown>[];
    assert.equal(origins.length, 1);
    assert.equal(origins[0]?.originAccessControlId, oac.id);
    assert.equal(origins[0]?.domainName, bucket.state.bucketRegionalDomainName);
  });

  Deno.test(`${stack}: the table, bucket, secret, topic, queue and logs are encrypted`, async () => {
    const result = await deployed(stack);
    const keyArn = arnOf(onlyResource(result, "aws:kms/key:Key"));
    const key = onlyResource(result, "aws:kms/key:Key");
    assert.equal(key.inputs.enableKeyRotation, true);
    const table = onlyResource(result, "aws:dynamodb/table:Table");
    assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true, kmsKeyArn: keyArn });
    const encryption = onlyResource(
      result,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    );
    assert.equal(encryption.inputs.bucket, onlyResource(result, "aws:s3/bucket:Bucket").id);
    const rules = encryption.inputs.rules as {
      applyServerSideEncryptionByDefault: { sseAlgorithm: string };
    }[];
    assert.equal(rules[0]?.applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
    assert.equal(onlyResource(result, "aws:secretsmanager/secret:Secret").inputs.kmsKeyId, keyArn);
    assert.equal(onlyResource(result, "aws:sns/topic:Topic").inputs.kmsMasterKeyId, keyArn);
    assert.equal(onlyResource(result, "aws:sqs/queue:Queue").inputs.kmsMasterKeyId, keyArn);
    assert.equal(onlyResource(result, "aws:cloudwatch/logGroup:LogGroup").inputs.kmsKeyId, keyArn);
    // CloudWatch alarms may use the key only for this environment's alarms.
    const alarmGrant = statements(key.inputs.policy).find((s) =>
      JSON.stringify(s.Principal).includes("cloudwatch.amazonaws.com")
    );
    assert.ok(alarmGrant);
    assert.match(
      JSON.stringify(alarmGrant.Condition),
      new RegExp(`alarm:kiro-debian-repo-manager-\\*-${stack}"`),
    );
  });

  Deno.test(`${stack}: only the account and this environment's alarms may publish to the topic`, async () => {
    const result = await deployed(stack);
    const topicArn = arnOf(onlyResource(result, "aws:sns/topic:Topic"));
    const policy = onlyResource(result, "aws:sns/topicPolicy:TopicPolicy");
    assert.equal(policy.inputs.arn, topicArn);
    const all = statements(policy.inputs.policy);
    for (const statement of all) assert.deepEqual(list(statement.Resource), [topicArn]);
    const allows = all.filter((s) => s.Effect === "Allow");
    assert.deepEqual(allows.map((s) => s.Principal), [
      { AWS: "arn:aws:iam::123456789012:root" },
      { Service: "cloudwatch.amazonaws.com" },
    ]);
    assert.deepEqual(allows[1]?.Condition, {
      StringEquals: { "aws:SourceAccount": "123456789012" },
      ArnLike: {
        "aws:SourceArn":
          `arn:aws:cloudwatch:us-east-1:123456789012:alarm:kiro-debian-repo-manager-*-${stack}`,
      },
    });
    const deny = all.find((s) => s.Effect === "Deny");
    assert.deepEqual(deny?.Condition, { Bool: { "aws:SecureTransport": "false" } });
    // Every alarm's name matches the pattern the topic and the key policy let publish.
    for (const alarm of resourcesOfType(result, "aws:cloudwatch/metricAlarm:MetricAlarm")) {
      assert.match(String(alarm.inputs.name), new RegExp(`^kiro-debian-repo-manager-.+-${stack}$`));
    }
  });

  Deno.test(`${stack}: the table has its key, index, on-demand billing, PITR and the stack's deletion protection`, async () => {
    const result = await deployed(stack);
    const table = onlyResource(result, "aws:dynamodb/table:Table");
    // One item per binary package identity: (name#canonical version, architecture).
    assert.equal(table.inputs.hashKey, "package_id");
    assert.equal(table.inputs.rangeKey, "architecture");
    assert.ok(
      (table.inputs.attributes as { name: string }[]).some((a) => a.name === "architecture"),
    );
    assert.equal(table.inputs.billingMode, "PAY_PER_REQUEST");
    assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true });
    assert.deepEqual(table.inputs.globalSecondaryIndexes, [{
      name: "package-name-index",
      keySchemas: [
        { attributeName: "package_name", keyType: "HASH" },
        { attributeName: "version", keyType: "RANGE" },
      ],
      projectionType: "ALL",
    }]);
    const protection = yamlConfig(stack)[`${PROJECT_NAME}:deletionProtection`];
    assert.equal(protection, stack === "prod");
    assert.equal(table.inputs.deletionProtectionEnabled, protection);
    assert.equal(onlyResource(result, "aws:s3/bucket:Bucket").inputs.forceDestroy, !protection);
  });

  Deno.test(`${stack}: the bucket keeps versions and expires staging uploads and old versions`, async () => {
    const result = await deployed(stack);
    const versioning = onlyResource(result, "aws:s3/bucketVersioning:BucketVersioning");
    assert.deepEqual(versioning.inputs.versioningConfiguration, { status: "Enabled" });
    const lifecycle = onlyResource(
      result,
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    );
    const rules = lifecycle.inputs.rules as Record<string, unknown>[];
    const config = yamlConfig(stack);
    const staging = rules.find((rule) =>
      JSON.stringify(rule.filter) === JSON.stringify({ prefix: "staging/" })
    );
    assert.ok(staging, "no rule for staging/");
    assert.deepEqual(staging.expiration, { days: config[`${PROJECT_NAME}:stagingExpirationDays`] });
    const old = rules.find((rule) => rule.noncurrentVersionExpiration !== undefined);
    assert.ok(old, "no rule for old versions");
    assert.deepEqual(old.noncurrentVersionExpiration, {
      noncurrentDays: config[`${PROJECT_NAME}:noncurrentVersionExpirationDays`],
    });
    for (const rule of rules) assert.equal(rule.status, "Enabled");
  });

  Deno.test(`${stack}: the publisher's IAM policy names only this stack's own resources`, async () => {
    const result = await deployed(stack);
    const own = [
      arnOf(onlyResource(result, "aws:dynamodb/table:Table")),
      arnOf(onlyResource(result, "aws:s3/bucket:Bucket")),
      arnOf(onlyResource(result, "aws:secretsmanager/secret:Secret")),
      arnOf(onlyResource(result, "aws:sns/topic:Topic")),
      arnOf(onlyResource(result, "aws:cloudfront/distribution:Distribution")),
      arnOf(onlyResource(result, "aws:cloudwatch/logGroup:LogGroup")),
      arnOf(onlyResource(result, "aws:sqs/queue:Queue")),
      arnOf(onlyResource(result, "aws:kms/key:Key")),
    ];
    const rolePolicy = onlyResource(result, "aws:iam/rolePolicy:RolePolicy");
    const role = onlyResource(result, "aws:iam/role:Role");
    assert.equal(rolePolicy.inputs.role, role.id);
    const granted = new Set<string>();
    for (const statement of statements(rolePolicy.inputs.policy)) {
      assert.equal(statement.Effect, "Allow");
      for (const action of list(statement.Action)) {
        assert.ok(!action.includes("*"), `${statement.Sid}: wildcard action ${action}`);
      }
      const resources = list(statement.Resource);
      assert.ok(resources.length > 0, `${statement.Sid} names no resource`);
      for (const resource of resources) {
        assert.notEqual(resource, "*", `${statement.Sid} grants on every resource`);
        const base = own.find((arn) =>
          resource === arn || resource.startsWith(`${arn}/`) || resource.startsWith(`${arn}:`)
        );
        assert.ok(base, `${statement.Sid}: ${resource} is not one of this stack's resources`);
        assert.ok(!resource.includes(`-${other}`), `${resource} belongs to ${other}`);
        granted.add(base);
      }
    }
    assert.deepEqual([...granted].sort(), [...own].sort(), "every own resource is granted");
    const trust = statements(role.inputs.assumeRolePolicy);
    assert.deepEqual(trust.map((s) => s.Principal), [{ Service: "lambda.amazonaws.com" }]);
    assert.equal(
      resourcesOfType(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").length,
      0,
    );
  });

  Deno.test(`${stack}: the Lambda is arm64 Node 22 with concurrency 1, a DLQ and the stack's names`, async () => {
    const result = await deployed(stack);
    const fn = onlyResource(result, "aws:lambda/function:Function");
    assert.equal(fn.inputs.runtime, "nodejs22.x");
    assert.deepEqual(fn.inputs.architectures, ["arm64"]);
    assert.equal(fn.inputs.reservedConcurrentExecutions, 1);
    assert.equal(fn.inputs.timeout, PUBLISHER_TIMEOUT_SECONDS);
    assert.equal(fn.inputs.timeout, 900);
    assert.equal(fn.inputs.memorySize, PUBLISHER_MEMORY_MB);
    assert.deepEqual(fn.inputs.ephemeralStorage, { size: PUBLISHER_EPHEMERAL_STORAGE_MB });
    assert.ok(PUBLISHER_EPHEMERAL_STORAGE_MB > 1024, "/tmp must hold a 500 MB package twice");
    assert.equal(fn.inputs.handler, "index.handler");
    assert.equal(fn.inputs.role, arnOf(onlyResource(result, "aws:iam/role:Role")));
    const queue = onlyResource(result, "aws:sqs/queue:Queue");
    assert.deepEqual(fn.inputs.deadLetterConfig, { targetArn: arnOf(queue) });
    const logGroup = onlyResource(result, "aws:cloudwatch/logGroup:LogGroup");
    assert.equal(
      (fn.inputs.loggingConfig as Record<string, unknown>).logGroup,
      logGroup.inputs.name,
    );
    assert.equal(
      logGroup.inputs.retentionInDays,
      yamlConfig(stack)[`${PROJECT_NAME}:logRetentionDays`],
    );
    assert.ok(
      result.resources.indexOf(logGroup) < result.resources.indexOf(fn),
      "the log group is created before the function",
    );

    const variables = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    const outputs = result.outputs;
    assert.deepEqual(variables, {
      ENVIRONMENT: stack,
      TABLE_NAME: onlyResource(result, "aws:dynamodb/table:Table").inputs.name,
      BUCKET_NAME: onlyResource(result, "aws:s3/bucket:Bucket").inputs.bucket,
      CHANNELS: "stable,beta",
      REPO_URL: outputs.repoUrl,
      SIGNING_KEY_SECRET_ID: onlyResource(result, "aws:secretsmanager/secret:Secret").inputs.name,
      NOTIFICATION_TOPIC_ARN: arnOf(onlyResource(result, "aws:sns/topic:Topic")),
      DISTRIBUTION_ID: onlyResource(result, "aws:cloudfront/distribution:Distribution").id,
      VALID_UNTIL_DAYS: String(yamlConfig(stack)[`${PROJECT_NAME}:validUntilDays`]),
      ARCHITECTURES: "amd64,arm64,all",
      POWERTOOLS_SERVICE_NAME: `kiro-debian-repo-manager-publisher-${stack}`,
      POWERTOOLS_METRICS_NAMESPACE: "KiroRepo",
      LOG_LEVEL: yamlConfig(stack)[`${PROJECT_NAME}:logLevel`],
    });
  });

  Deno.test(`${stack}: the Lambda ships the bundle of its entry module`, async () => {
    const result = await deployed(stack);
    const fn = onlyResource(result, "aws:lambda/function:Function");
    const archive = fn.inputs.code as pulumi.asset.AssetArchive;
    const assets = await archive.assets;
    const text = await (assets["index.mjs"] as pulumi.asset.StringAsset).text;
    assert.match(text, /^import \{ createRequire as __kiroCreateRequire \} from "node:module";/);
    assert.match(text, /export \{[^}]*\bhandler\b[^}]*\}/);
    const written = Deno.readTextFileSync(join(ROOT, "dist", "pulumi", stack, "index.mjs"));
    assert.equal(written, text);
    const natives = [...text.matchAll(/^import .* from "(@napi-rs\/[a-z0-9-]+)[^"]*";$/gm)].map((
      m,
    ) => m[1]);
    if (natives.length === 0) {
      assert.deepEqual(Object.keys(assets), ["index.mjs"]);
      return;
    }
    // Native packages travel in node_modules/, with their binary for the Lambda's arm64.
    assert.deepEqual(Object.keys(assets).sort(), ["index.mjs", "node_modules"]);
    const modules = await (assets["node_modules"] as pulumi.asset.FileArchive).path;
    assert.equal(modules, join(ROOT, "dist", "pulumi", stack, "node_modules"));
    for (const name of new Set(natives)) {
      const binaryDir = join(modules, `${name}-linux-arm64-gnu`);
      const binary = [...Deno.readDirSync(binaryDir)].find((entry) => entry.name.endsWith(".node"));
      assert.ok(binary, `no .node file in ${binaryDir}`);
      const bytes = Deno.readFileSync(join(binaryDir, binary.name));
      assert.equal(
        new DataView(bytes.buffer).getUint16(18, true),
        183,
        `${binary.name} is not AArch64`,
      );
      assert.ok(existsSync(join(modules, name as string, "package.json")));
    }
  });

  Deno.test(`${stack}: the schedule runs the publisher at the stack's rate`, async () => {
    const result = await deployed(stack);
    const rule = onlyResource(result, "aws:cloudwatch/eventRule:EventRule");
    assert.equal(rule.inputs.scheduleExpression, yamlConfig(stack)[`${PROJECT_NAME}:scheduleRate`]);
    const fn = onlyResource(result, "aws:lambda/function:Function");
    const target = onlyResource(result, "aws:cloudwatch/eventTarget:EventTarget");
    assert.equal(target.inputs.rule, rule.inputs.name);
    assert.equal(target.inputs.arn, arnOf(fn));
    const permission = onlyResource(result, "aws:lambda/permission:Permission");
    assert.equal(permission.inputs.principal, "events.amazonaws.com");
    assert.equal(permission.inputs.action, "lambda:InvokeFunction");
    assert.equal(permission.inputs.sourceArn, arnOf(rule));
    assert.equal(permission.inputs.function, fn.inputs.name);
  });

  Deno.test(`${stack}: alarms watch errors, duration, dead letters and missing successful runs`, async () => {
    const result = await deployed(stack);
    const topicArn = arnOf(onlyResource(result, "aws:sns/topic:Topic"));
    const alarms = resourcesOfType(result, "aws:cloudwatch/metricAlarm:MetricAlarm");
    const byMetric = new Map(
      alarms.map((alarm) => [String(alarm.inputs.metricName), alarm.inputs]),
    );
    assert.deepEqual([...byMetric.keys()].sort(), [
      "ApproximateNumberOfMessagesVisible",
      "Duration",
      "Errors",
      "SuccessfulRuns",
    ]);
    for (const alarm of alarms) {
      assert.deepEqual(alarm.inputs.alarmActions, [topicArn]);
      assert.deepEqual(alarm.inputs.okActions, [topicArn]);
    }
    const functionName = onlyResource(result, "aws:lambda/function:Function").inputs.name;
    assert.deepEqual(byMetric.get("Errors")?.dimensions, { FunctionName: functionName });
    assert.deepEqual(byMetric.get("Duration")?.dimensions, { FunctionName: functionName });
    assert.equal(byMetric.get("Duration")?.threshold, 900_000 * 0.8);
    assert.deepEqual(byMetric.get("ApproximateNumberOfMessagesVisible")?.dimensions, {
      QueueName: onlyResource(result, "aws:sqs/queue:Queue").inputs.name,
    });
    const noSuccess = byMetric.get("SuccessfulRuns");
    assert.equal(noSuccess?.namespace, "KiroRepo");
    assert.deepEqual(noSuccess?.dimensions, {
      service: `kiro-debian-repo-manager-publisher-${stack}`,
    });
    assert.equal(noSuccess?.treatMissingData, "breaching");
    assert.equal(noSuccess?.comparisonOperator, "LessThanThreshold");
    const rate = String(yamlConfig(stack)[`${PROJECT_NAME}:scheduleRate`]);
    const [, count, unit] = /^rate\((\d+) (\w+)\)$/.exec(rate) ?? [];
    const seconds = Number(count) * (unit?.startsWith("minute") ? 60 : 3600);
    assert.equal(noSuccess?.period, 2 * seconds);
  });

  Deno.test(`${stack}: CloudFront serves HTTPS only and caches mutable paths briefly, immutable ones long`, async () => {
    const result = await deployed(stack);
    const distribution = onlyResource(result, "aws:cloudfront/distribution:Distribution");
    const policies = new Map(
      resourcesOfType(result, "aws:cloudfront/cachePolicy:CachePolicy").map((
        p,
      ) => [p.id, p.inputs]),
    );
    const ttl = (id: unknown) => {
      const policy = policies.get(String(id));
      assert.ok(policy, `unknown cache policy ${id}`);
      return { min: policy.minTtl, default: policy.defaultTtl, max: policy.maxTtl };
    };
    const defaults = distribution.inputs.defaultCacheBehavior as Record<string, unknown>;
    assert.equal(defaults.viewerProtocolPolicy, "redirect-to-https");
    assert.deepEqual(ttl(defaults.cachePolicyId), SHORT_TTL);
    const ordered = distribution.inputs.orderedCacheBehaviors as Record<string, unknown>[];
    const patterns = ordered.map((behaviour) => behaviour.pathPattern);
    for (const behaviour of ordered) {
      assert.equal(behaviour.viewerProtocolPolicy, "redirect-to-https");
      assert.deepEqual(behaviour.allowedMethods, ["GET", "HEAD"]);
    }
    const ttlOf = (pattern: string) =>
      ttl(ordered.find((b) => b.pathPattern === pattern)?.cachePolicyId);
    assert.deepEqual(ttlOf("pool/*"), LONG_TTL);
    assert.deepEqual(ttlOf("*/by-hash/*"), LONG_TTL);
    for (const pattern of ["dists/*", "index.html", "kiro-repo.deb"]) {
      assert.deepEqual(ttlOf(pattern), SHORT_TTL);
    }
    assert.ok(LONG_TTL.default >= 30 * 86400 && SHORT_TTL.max <= 600);
    assert.ok(
      patterns.indexOf("*/by-hash/*") < patterns.indexOf("dists/*"),
      "by-hash must be matched before dists/*",
    );
    assert.deepEqual(distribution.inputs.viewerCertificate, { cloudfrontDefaultCertificate: true });
    assert.equal(resourcesOfType(result, "aws:route53/record:Record").length, 0);
    assert.equal(result.outputs.repoUrl, `https://${distribution.state.domainName}`);
  });

  Deno.test(`${stack}: the outputs are complete and are what tasks/lib/env.ts reads`, async () => {
    const result = await deployed(stack);
    assert.deepEqual(Object.keys(result.outputs).sort(), [...OUTPUT_KEYS].sort());
    const parsed = parseStackOutputs(JSON.stringify(result.outputs), {
      source: `pulumi stack output --stack ${stack}`,
      environment: stack,
    });
    assert.deepEqual(parsed, {
      environment: stack,
      tableName: `kiro-debian-repo-manager-packages-${stack}`,
      legacyTableName: yamlConfig(stack)[`${PROJECT_NAME}:legacyTableName`],
      bucketName: `kiro-debian-repo-manager-repo-${stack}`,
      functionName: `kiro-debian-repo-manager-publisher-${stack}`,
      repoUrl: result.outputs.repoUrl,
      distributionId: onlyResource(result, "aws:cloudfront/distribution:Distribution").id,
      signingKeySecretId: `kiro-debian-repo-manager-signing-key-${stack}`,
      notificationTopicArn: arnOf(onlyResource(result, "aws:sns/topic:Topic")),
      region: yamlConfig(stack)["aws:region"],
      channels: ["stable", "beta"],
      architectures: ["amd64", "arm64", "all"],
    });
  });

  Deno.test(`${stack}: the program holds no secret value (keygen sets the signing key)`, async () => {
    const result = await deployed(stack);
    assert.equal(
      resourcesOfType(result, "aws:secretsmanager/secretVersion:SecretVersion").length,
      0,
    );
    assert.doesNotMatch(JSON.stringify(result.resources.map((r) => r.inputs)), /PRIVATE KEY/);
  });
}

Deno.test("prod with a custom domain: CloudFront uses the certificate and Route 53 aliases the domain", async () => {
  const certificateArn =
    "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789";
  const result = await run("prod", {
    [`${PROJECT_NAME}:domainName`]: "apt.example.com",
    [`${PROJECT_NAME}:certificateArn`]: certificateArn,
    [`${PROJECT_NAME}:hostedZoneId`]: "Z0123456789ABC",
    [`${PROJECT_NAME}:alarmEmail`]: "repo-alerts@example.com",
  });
  const distribution = onlyResource(result, "aws:cloudfront/distribution:Distribution");
  assert.deepEqual(distribution.inputs.aliases, ["apt.example.com"]);
  assert.deepEqual(distribution.inputs.viewerCertificate, {
    acmCertificateArn: certificateArn,
    sslSupportMethod: "sni-only",
    minimumProtocolVersion: "TLSv1.2_2021",
  });
  assert.equal(result.outputs.repoUrl, "https://apt.example.com");
  const records = resourcesOfType(result, "aws:route53/record:Record");
  assert.deepEqual(records.map((r) => r.inputs.type).sort(), ["A", "AAAA"]);
  for (const record of records) {
    assert.equal(record.inputs.zoneId, "Z0123456789ABC");
    assert.deepEqual(record.inputs.aliases, [{
      name: distribution.state.domainName,
      zoneId: distribution.state.hostedZoneId,
      evaluateTargetHealth: false,
    }]);
  }
  const fn = onlyResource(result, "aws:lambda/function:Function");
  assert.equal(
    (fn.inputs.environment as { variables: Record<string, string> }).variables.REPO_URL,
    "https://apt.example.com",
  );
  const subscription = onlyResource(result, "aws:sns/topicSubscription:TopicSubscription");
  assert.equal(subscription.inputs.protocol, "email");
  assert.equal(subscription.inputs.endpoint, "repo-alerts@example.com");
  assert.equal(subscription.inputs.topic, arnOf(onlyResource(result, "aws:sns/topic:Topic")));
});

Deno.test("the program refuses a config key it does not know, naming the key and the file", async () => {
  const { program } = await loadProgramWithMocks({
    project: PROJECT_NAME,
    stack: "dev",
    config: configFor("dev", { [`${PROJECT_NAME}:scheduelRate`]: "rate(5 minutes)" }),
    load: () => import("../../infra/index.ts"),
  });
  await assert.rejects(
    async () => await program(),
    /Pulumi\.dev\.yaml: unknown kiro-debian-repo-manager:scheduelRate/,
  );
});

Deno.test("the program refuses a stack that is not dev or prod", async () => {
  const { program } = await loadProgramWithMocks({
    project: PROJECT_NAME,
    stack: "staging",
    config: configFor("dev"),
    load: () => import("../../infra/index.ts"),
  });
  await assert.rejects(
    async () => await program(),
    /stack "staging": the stack name is the environment and must be one of dev, prod/,
  );
});
