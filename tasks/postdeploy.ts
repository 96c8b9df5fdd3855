/**
 * `deno task postdeploy ENV`: checks a deployed environment end to end.
 *
 * 1. the resources of the stack outputs exist and are reachable with the
 *    operator's credentials: the table (`DescribeTable`: active, its key and
 *    index), the bucket (`HeadBucket`), the signing-key secret
 *    (`DescribeSecret`, with a value) and the function (`GetFunction`: active,
 *    Node.js on arm64, configured with this stack's names); locally the key
 *    file, and the handler runs in-process;
 * 2. the signing keys load;
 * 3. a force rebuild succeeds (the deployed Lambda; locally in-process);
 * 4. `InRelease`, fetched through `repoUrl` like apt does, is signed by every
 *    stored key and verifies against the published `/kiro-archive-keyring.pgp`,
 *    matches `Release`, and is still valid.
 *
 * Every check runs and reports; the exit code is 1 when any failed.
 *
 * @module
 */

import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { lambdaVariables } from "../lambda/environment/variables.ts";
import { GetFunctionCommand } from "@aws-sdk/client-lambda";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { type AwsClients, awsClients } from "../lambda/aws/clients.ts";
import type { StackOutputs } from "../lambda/environment/outputs.ts";
import { loadSigningKeys } from "../lambda/aws/signing_keys.ts";
import { parseRelease } from "../lambda/repo/release.ts";
import type { SigningKey } from "../lambda/signing/keys.ts";
import { type Keyring, readKeyring, verifyClearsigned } from "../lambda/signing/verify.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine } from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";
import { rebuildEnvironment } from "./lib/rebuild_environment.ts";

/** The repository's suite (`docs/design.md`, "Repository layout and publishing"). */
const SUITE = "stable";
/** The packages table's index (`docs/design.md`, "Data model"). */
const PACKAGE_NAME_INDEX = "package-name-index";
/** How long one HTTP fetch of the repository may take. */
const FETCH_TIMEOUT_MS = 30_000;

/** The result of one check. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found (passed) or what is wrong and what to do (failed). */
  detail: string;
  /** Set when the check did not apply (e.g. the function, locally). */
  skipped?: boolean;
}

/** The report of {@linkcode postdeploy}. */
export interface PostdeployReport {
  environment: string;
  ok: boolean;
  checks: CheckResult[];
}

/** Options of {@linkcode postdeploy}. */
export interface PostdeployOptions {
  /** Skip the force rebuild (check what is published now). */
  skipRebuild?: boolean;
  /** Progress lines (default: none). */
  log?: (message: string) => void;
  /** How to fetch the repository over HTTP (default: `fetch`). */
  fetch?: typeof fetch;
  /** The AWS clients to use (default: `awsClients(outputs)`, destroyed at the end). */
  clients?: AwsClients;
}

function errorName(error: unknown): string {
  if (typeof error === "object" && error !== null && "name" in error) return String(error.name);
  return "Error";
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function check(
  checks: CheckResult[],
  name: string,
  fn: () => Promise<string | { skipped: string }>,
  log?: (message: string) => void,
): Promise<boolean> {
  let result: CheckResult;
  try {
    const detail = await fn();
    result = typeof detail === "string"
      ? { name, ok: true, detail }
      : { name, ok: true, detail: detail.skipped, skipped: true };
  } catch (error) {
    result = { name, ok: false, detail: message(error) };
  }
  checks.push(result);
  log?.(`${result.ok ? (result.skipped ? "skip" : "ok  ") : "FAIL"}  ${name}: ${result.detail}`);
  return result.ok;
}

class CheckFailed extends Error {
  override name = "CheckFailed";
}

async function checkTable(outputs: StackOutputs, clients: AwsClients): Promise<string> {
  let table;
  try {
    table =
      (await clients.dynamoRaw.send(new DescribeTableCommand({ TableName: outputs.tableName })))
        .Table;
  } catch (error) {
    if (errorName(error) === "ResourceNotFoundException") {
      throw new CheckFailed(
        `the table ${outputs.tableName} does not exist in ${outputs.region} (DescribeTable: ResourceNotFoundException); ` +
          `deploy the stack (pulumi up -s ${outputs.environment}) or fix the stack outputs`,
      );
    }
    throw new CheckFailed(
      `DescribeTable ${outputs.tableName} failed: ${errorName(error)}: ${message(error)}`,
    );
  }
  if (table?.TableStatus !== "ACTIVE") {
    throw new CheckFailed(
      `the table ${outputs.tableName} is ${table?.TableStatus ?? "in no state"}, not ACTIVE`,
    );
  }
  const key = table.KeySchema?.map((k) => `${k.AttributeName}:${k.KeyType}`).join(",");
  if (key !== "package_id:HASH,architecture:RANGE") {
    throw new CheckFailed(
      `the table ${outputs.tableName} has the key ${key}, not package_id (HASH) and ` +
        "architecture (RANGE); it was made by an older version of the program: deploy the " +
        "current stack (pulumi up) and migrate its records (docs/migration.md)",
    );
  }
  const index = table.GlobalSecondaryIndexes?.find((i) => i.IndexName === PACKAGE_NAME_INDEX);
  if (index === undefined) {
    throw new CheckFailed(`the table ${outputs.tableName} has no index ${PACKAGE_NAME_INDEX}`);
  }
  if (index.IndexStatus !== undefined && index.IndexStatus !== "ACTIVE") {
    throw new CheckFailed(`the index ${PACKAGE_NAME_INDEX} is ${index.IndexStatus}, not ACTIVE`);
  }
  return `${outputs.tableName} is ACTIVE with ${
    table.ItemCount ?? 0
  } items and ${PACKAGE_NAME_INDEX}`;
}

async function checkBucket(outputs: StackOutputs, clients: AwsClients): Promise<string> {
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: outputs.bucketName }));
  } catch (error) {
    const name = errorName(error);
    if (name === "NotFound" || name === "NoSuchBucket") {
      throw new CheckFailed(
        `the bucket ${outputs.bucketName} does not exist (HeadBucket: ${name}); deploy the stack ` +
          `(pulumi up -s ${outputs.environment}) or fix the stack outputs`,
      );
    }
    if (name === "Forbidden" || name === "AccessDenied") {
      throw new CheckFailed(
        `the bucket ${outputs.bucketName} is not reachable with these credentials (HeadBucket: ${name})`,
      );
    }
    throw new CheckFailed(`HeadBucket ${outputs.bucketName} failed: ${name}: ${message(error)}`);
  }
  return `${outputs.bucketName} is reachable`;
}

async function checkSecret(outputs: StackOutputs, clients: AwsClients): Promise<string> {
  if (outputs.environment === "local") {
    try {
      const info = await Deno.stat(outputs.signingKeySecretId);
      return `the key file ${outputs.signingKeySecretId} exists (${info.size} bytes)`;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new CheckFailed(
          `the key file ${outputs.signingKeySecretId} does not exist; run deno task keygen --env local`,
        );
      }
      throw error;
    }
  }
  let secret;
  try {
    secret = await clients.secrets.send(
      new DescribeSecretCommand({ SecretId: outputs.signingKeySecretId }),
    );
  } catch (error) {
    if (errorName(error) === "ResourceNotFoundException") {
      throw new CheckFailed(
        `the secret ${outputs.signingKeySecretId} does not exist (DescribeSecret: ResourceNotFoundException); ` +
          `deploy the stack (pulumi up -s ${outputs.environment})`,
      );
    }
    throw new CheckFailed(
      `DescribeSecret ${outputs.signingKeySecretId} failed: ${errorName(error)}: ${message(error)}`,
    );
  }
  if (secret.DeletedDate !== undefined) {
    throw new CheckFailed(`the secret ${outputs.signingKeySecretId} is scheduled for deletion`);
  }
  const current = Object.values(secret.VersionIdsToStages ?? {}).some((stages) =>
    stages.includes("AWSCURRENT")
  );
  if (!current) {
    throw new CheckFailed(
      `the secret ${outputs.signingKeySecretId} has no value yet; run deno task keygen --env ${outputs.environment}`,
    );
  }
  return `${outputs.signingKeySecretId} exists and has a value${
    secret.KmsKeyId === undefined ? "" : " (KMS-encrypted)"
  }`;
}

async function checkFunction(
  outputs: StackOutputs,
  clients: AwsClients,
): Promise<string | { skipped: string }> {
  if (outputs.environment === "local") {
    return { skipped: "local runs the handler in-process (no function to describe)" };
  }
  let fn;
  try {
    fn = await clients.lambda.send(
      new GetFunctionCommand({ FunctionName: outputs.functionName }),
    );
  } catch (error) {
    if (errorName(error) === "ResourceNotFoundException") {
      throw new CheckFailed(
        `the function ${outputs.functionName} does not exist (GetFunction: ResourceNotFoundException); ` +
          `deploy the stack (pulumi up -s ${outputs.environment})`,
      );
    }
    throw new CheckFailed(
      `GetFunction ${outputs.functionName} failed: ${errorName(error)}: ${message(error)}`,
    );
  }
  const config = fn.Configuration ?? {};
  const problems: string[] = [];
  if (config.State !== undefined && config.State !== "Active") {
    problems.push(`state ${config.State}`);
  }
  if (config.LastUpdateStatus !== undefined && config.LastUpdateStatus !== "Successful") {
    problems.push(`last update ${config.LastUpdateStatus}`);
  }
  if (!(config.Runtime ?? "").startsWith("nodejs")) problems.push(`runtime ${config.Runtime}`);
  const variables = config.Environment?.Variables ?? {};
  const expected = lambdaVariables<string>({
    tableName: outputs.tableName,
    bucketName: outputs.bucketName,
    signingKeySecretId: outputs.signingKeySecretId,
    repoUrl: outputs.repoUrl,
    notificationTopicArn: outputs.notificationTopicArn,
  });
  for (const [name, value] of Object.entries(expected)) {
    if (variables[name] !== value) {
      problems.push(`${name} is ${JSON.stringify(variables[name])}, expected ${value}`);
    }
  }
  if (problems.length > 0) {
    throw new CheckFailed(
      `the function ${outputs.functionName} is not as deployed: ${problems.join("; ")}`,
    );
  }
  return `${outputs.functionName} is Active (${config.Runtime}, ${
    config.Architectures?.join("/") ?? "?"
  }, ` +
    `${config.MemorySize} MB, timeout ${config.Timeout} s)`;
}

async function fetchBytes(fetcher: typeof fetch, url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetcher(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    throw new CheckFailed(`cannot fetch ${url}: ${message(error)}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CheckFailed(`fetching ${url} answered HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function checkPublished(
  outputs: StackOutputs,
  keys: SigningKey[] | undefined,
  fetcher: typeof fetch,
): Promise<string> {
  const base = `${outputs.repoUrl}/dists/${SUITE}`;
  const decoder = new TextDecoder();
  const inRelease = decoder.decode(await fetchBytes(fetcher, `${base}/InRelease`));
  const release = decoder.decode(await fetchBytes(fetcher, `${base}/Release`));
  const keyringBytes = await fetchBytes(fetcher, `${outputs.repoUrl}/kiro-archive-keyring.pgp`);

  let keyring: Keyring;
  try {
    keyring = await readKeyring(keyringBytes);
  } catch (error) {
    throw new CheckFailed(`the published keyring is not binary OpenPGP: ${message(error)}`);
  }
  const published = new Set(keyring.map((key) => key.getFingerprint().toUpperCase()));
  for (const key of keys ?? []) {
    if (!published.has(key.fingerprint)) {
      throw new CheckFailed(
        `the published keyring lacks the signing key ${key.fingerprint}; run deno task rebuild ${outputs.environment}`,
      );
    }
  }

  const verification = await verifyClearsigned(inRelease, {
    keys: keyring,
    name: `${base}/InRelease`,
  });
  if (`${verification.text}\n` !== release) {
    throw new CheckFailed(
      "InRelease and Release differ: a publish is half done or a cache is stale",
    );
  }
  const signers: string[] = [];
  for (const signature of verification.signatures) {
    if (!signature.verified) {
      throw new CheckFailed(
        `InRelease has a signature that does not verify with the published keyring: ${signature.error}`,
      );
    }
    signers.push(signature.keyId);
  }
  if (signers.length === 0) throw new CheckFailed("InRelease carries no signature");
  for (const key of keys ?? []) {
    const id = key.signingFingerprint.slice(-16).toUpperCase();
    if (!signers.includes(id)) {
      throw new CheckFailed(
        `InRelease is not signed by the stored key ${key.fingerprint}; run deno task rebuild ${outputs.environment}`,
      );
    }
  }
  const parsed = parseRelease(release);
  const validUntil = parsed.fields.get("Valid-Until");
  if (validUntil !== undefined) {
    const until = parsed.validUntil;
    if (until === undefined || until.getTime() <= Date.now()) {
      throw new CheckFailed(`the Release expired (Valid-Until: ${validUntil}); apt refuses it`);
    }
  }
  return `InRelease verifies (${signers.length} signature${signers.length === 1 ? "" : "s"}: ${
    signers.join(", ")
  }) against the published keyring; Release matches${
    validUntil === undefined ? "" : `; valid until ${validUntil}`
  }`;
}

/**
 * Runs every post-deployment check against `outputs`' environment and returns
 * the report (it never throws for a failed check).
 */
export async function postdeploy(
  outputs: StackOutputs,
  options: PostdeployOptions = {},
): Promise<PostdeployReport> {
  const { log } = options;
  const checks: CheckResult[] = [];
  // The rebuild destroys the default clients when it is done; ours are made per phase.
  const clients = () => options.clients ?? awsClients(outputs);
  await check(checks, "table", () => checkTable(outputs, clients()), log);
  await check(checks, "bucket", () => checkBucket(outputs, clients()), log);
  await check(checks, "signing key secret", () => checkSecret(outputs, clients()), log);
  await check(checks, "function", () => checkFunction(outputs, clients()), log);
  let keys: SigningKey[] | undefined;
  await check(checks, "signing keys", async () => {
    keys = await loadSigningKeys(outputs, clients());
    return `${keys.length} key(s): ${
      keys.map((key) => `${key.fingerprint} (${key.algorithm})`).join(", ")
    }`;
  }, log);
  if (options.skipRebuild === true) {
    await check(checks, "force rebuild", () => Promise.resolve({ skipped: "--skip-rebuild" }), log);
  } else {
    await check(checks, "force rebuild", async () => {
      const answer = await rebuildEnvironment(outputs, { log: (line) => log?.(`      ${line}`) });
      return `${answer.packages} packages, ${answer.written} objects written, ${answer.skipped} unchanged` +
        (answer.date === undefined ? "" : `; Release dated ${answer.date}`);
    }, log);
  }
  await check(
    checks,
    "published InRelease",
    () => checkPublished(outputs, keys, options.fetch ?? fetch),
    log,
  );
  if (options.clients === undefined) awsClients(outputs).destroy();
  return { environment: outputs.environment, ok: checks.every((c) => c.ok), checks };
}

/** Runs the task; returns the exit code (1 when a check failed). */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "postdeploy",
    summary: "Check a deployed environment end to end (resources, signing, a rebuild, InRelease)",
    description:
      "Checks that the stack's table, bucket, secret and function exist and are reachable\n" +
      "(DescribeTable, HeadBucket, DescribeSecret, GetFunction), that the signing keys load,\n" +
      'invokes a force rebuild ({"force_rebuild": true}), then fetches dists/stable/InRelease\n' +
      "through the repository URL and verifies its signatures with the published keyring.\n" +
      "Every check runs; exits 1 when any failed.",
    options: {
      env: ENV_OPTION,
      "skip-rebuild": {
        type: "boolean",
        description: "check what is published now, without a rebuild",
      },
      json: JSON_OPTION,
    },
    examples: [
      "deno task postdeploy dev",
      "deno task postdeploy --env prod --skip-rebuild --json",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  try {
    return await withEnvironment(
      { env: cli.values.env },
      async (outputs, name) => {
        console.error(`Checking ${name} (${outputs.repoUrl})`);
        const report = await postdeploy(outputs, {
          skipRebuild: cli.values["skip-rebuild"] === true,
          log: (line) => console.error(line),
        });
        if (cli.values.json === true) console.log(JSON.stringify(report, null, 2));
        const failed = report.checks.filter((c) => !c.ok);
        console.error(
          failed.length === 0
            ? `${name}: all ${report.checks.length} checks passed`
            : `${name}: ${failed.length} of ${report.checks.length} checks failed (${
              failed.map((c) => c.name).join(", ")
            })`,
        );
        return report.ok ? 0 : 1;
      },
    );
  } catch (error) {
    return taskFailureCode(error, "postdeploy");
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
