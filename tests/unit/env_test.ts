import assert from "node:assert/strict";
import { join } from "node:path";
import {
  EnvironmentError,
  type EnvironmentErrorReason,
  environmentName,
  readStackOutputs,
  resolveEnvironment,
  taskFailureCode,
} from "../../tasks/lib/env.ts";
import { UsageError } from "../../tasks/lib/cli.ts";

const devOutputs = {
  environment: "dev",
  tableName: "kiro-debian-repo-manager-packages-dev",
  legacyTableName: "kiro-package-versions-dev",
  bucketName: "kiro-debian-repo-manager-repo-dev",
  functionName: "kiro-debian-repo-manager-publisher-dev",
  repoUrl: "https://d111.cloudfront.net/",
  distributionId: "E123",
  signingKeySecretId: "kiro-debian-repo-manager-signing-key-dev",
  notificationTopicArn: "arn:aws:sns:us-east-1:123456789012:kiro",
  region: "us-east-1",
};

/** A folder with a fake `pulumi` that logs its arguments and does `body`. */
async function fakePulumi(body: string): Promise<{ dir: string; argsFile: string }> {
  const dir = await Deno.makeTempDir({ prefix: "fake-pulumi-" });
  const argsFile = join(dir, "args");
  const script = `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\n${body}\n`;
  await Deno.writeTextFile(join(dir, "pulumi"), script, { mode: 0o755 });
  return { dir, argsFile };
}

async function failure(
  body: string,
  env: "dev" | "prod" = "dev",
): Promise<{ error: EnvironmentError; args: string[] }> {
  const fake = await fakePulumi(body);
  try {
    const error = await readStackOutputs(env, {
      env: { PATH: `${fake.dir}:/usr/bin:/bin` },
      cwd: fake.dir,
    }).then(
      () => assert.fail("expected an EnvironmentError"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof EnvironmentError, String(error));
    const args = (await Deno.readTextFile(fake.argsFile)).trim().split("\n");
    return { error, args };
  } finally {
    await Deno.remove(fake.dir, { recursive: true });
  }
}

function assertReason(error: EnvironmentError, reason: EnvironmentErrorReason, text: RegExp) {
  assert.equal(error.reason, reason, error.message);
  assert.match(error.message, text);
}

Deno.test("the environment is --env, else the positional, else KIRO_ENV, else local", () => {
  assert.equal(environmentName({ env: "prod" }, { env: { KIRO_ENV: "dev" } }), "prod");
  assert.equal(environmentName({ positional: "prod" }, { env: { KIRO_ENV: "dev" } }), "prod");
  assert.equal(environmentName({}, { env: { KIRO_ENV: "dev" } }), "dev");
  assert.equal(environmentName({}, { env: {} }), "local");
  assert.equal(environmentName({}, { env: { KIRO_ENV: "" } }), "local");
  assert.equal(environmentName({ env: "dev", positional: "dev" }, { env: {} }), "dev");
});

Deno.test("an unknown or doubly given environment is a usage error", () => {
  assert.throws(
    () => environmentName({ env: "staging" }, { env: {} }),
    (e: unknown) =>
      e instanceof UsageError &&
      /--env must be one of local, dev, prod \(got "staging"\)/.test(e.message),
  );
  assert.throws(() => environmentName({}, { env: { KIRO_ENV: "qa" } }), /KIRO_ENV must be one of/);
  assert.throws(
    () => environmentName({ env: "dev", positional: "prod" }, { env: {} }),
    /given twice/,
  );
});

Deno.test("a task's expected failures print their message and give exit 2 or 1; others are rethrown", () => {
  class TaskError extends Error {}
  const printed: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => printed.push(args.join(" "));
  try {
    assert.equal(taskFailureCode(new UsageError("Give --env once"), "outputs"), 2);
    assert.equal(
      taskFailureCode(new EnvironmentError("not_deployed", "Cannot read the dev stack"), "outputs"),
      1,
    );
    assert.equal(
      taskFailureCode(new TaskError("The key exists"), "keygen", { failures: [TaskError] }),
      1,
    );
    const other = new Error("disk on fire");
    assert.throws(() => taskFailureCode(other, "outputs"), (error) => error === other);
    assert.throws(() => taskFailureCode(new TaskError("not declared"), "outputs"), TaskError);
  } finally {
    console.error = original;
  }
  assert.deepEqual(printed, [
    "outputs: Give --env once",
    "Cannot read the dev stack",
    "The key exists",
  ]);
});

Deno.test("dev outputs come from pulumi stack output with the stack's name", async () => {
  const fake = await fakePulumi(`cat <<'JSON'\n${JSON.stringify(devOutputs)}\nJSON`);
  try {
    const outputs = await readStackOutputs("dev", {
      env: { PATH: `${fake.dir}:/usr/bin:/bin` },
      cwd: fake.dir,
    });
    assert.equal(outputs.tableName, devOutputs.tableName);
    assert.equal(outputs.repoUrl, "https://d111.cloudfront.net");
    assert.equal(outputs.distributionId, "E123");
    assert.deepEqual(
      (await Deno.readTextFile(fake.argsFile)).trim().split("\n"),
      ["stack", "output", "--json", "--show-secrets", "--stack", "dev"],
    );
  } finally {
    await Deno.remove(fake.dir, { recursive: true });
  }
});

Deno.test("a missing pulumi CLI says to install it or use KIRO_OUTPUTS_FILE", async () => {
  const empty = await Deno.makeTempDir();
  try {
    const error = await readStackOutputs("prod", { env: { PATH: empty } }).catch((e) => e);
    assert.ok(error instanceof EnvironmentError);
    assertReason(error, "pulumi_missing", /not on the PATH; install it .*KIRO_OUTPUTS_FILE/);
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test("a pulumi that is not logged in says to run pulumi login", async () => {
  const { error } = await failure(
    `echo "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions" >&2; exit 255`,
  );
  assertReason(error, "not_logged_in", /not logged in; run "pulumi login"/);
});

Deno.test("a stack that does not exist says to run pulumi up -s ENV", async () => {
  const { error, args } = await failure(
    `echo "error: no stack named 'prod' found" >&2; exit 255`,
    "prod",
  );
  assertReason(error, "stack_not_found", /no stack named "prod"; .*"pulumi up -s prod"/);
  assert.equal(args.at(-1), "prod");
});

Deno.test("a stack with no outputs is reported as not deployed", async () => {
  const { error } = await failure(`echo '{}'`);
  assertReason(error, "not_deployed", /has not been deployed; run "pulumi up -s dev"/);
});

Deno.test("output that is not JSON is reported as such", async () => {
  const { error } = await failure(`echo 'Current stack outputs (0):'`);
  assertReason(error, "invalid_outputs", /printed something that is not JSON/);
});

Deno.test("outputs missing a field name the field and the command", async () => {
  const { tableName: _, ...partial } = devOutputs;
  const { error } = await failure(`echo '${JSON.stringify(partial)}'`);
  assertReason(error, "invalid_outputs", /pulumi stack output .*: tableName is missing/);
});

Deno.test("outputs of another environment are refused", async () => {
  const { error } = await failure(
    `echo '${JSON.stringify({ ...devOutputs, environment: "prod" })}'`,
  );
  assertReason(
    error,
    "invalid_outputs",
    /environment is "prod" but the outputs were read for "dev"/,
  );
});

Deno.test("any other pulumi failure shows its exit code and last error lines", async () => {
  const { error } = await failure(`echo "error: network is unreachable" >&2; exit 3`);
  assertReason(error, "pulumi_failed", /failed with exit code 3: error: network is unreachable/);
});

Deno.test("KIRO_OUTPUTS_FILE replaces pulumi", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "outputs.json");
    await Deno.writeTextFile(file, JSON.stringify(devOutputs));
    // No pulumi on this PATH: the file alone must do.
    const outputs = await readStackOutputs("dev", { env: { PATH: dir, KIRO_OUTPUTS_FILE: file } });
    assert.equal(outputs.bucketName, devOutputs.bucketName);
    const missing = await readStackOutputs("dev", {
      env: { PATH: dir, KIRO_OUTPUTS_FILE: join(dir, "none.json") },
    }).catch((e) => e);
    assert.ok(missing instanceof EnvironmentError);
    assertReason(
      missing,
      "outputs_file",
      /Cannot read KIRO_OUTPUTS_FILE=.*none\.json: no such file/,
    );
    await Deno.writeTextFile(file, "{ not json");
    const broken = await readStackOutputs("dev", { env: { KIRO_OUTPUTS_FILE: file } }).catch((e) =>
      e
    );
    assert.ok(broken instanceof EnvironmentError);
    assertReason(broken, "invalid_outputs", /KIRO_OUTPUTS_FILE=.*: invalid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the local environment starts its own stand-ins when no dev stack runs", async () => {
  const dir = await Deno.makeTempDir();
  const messages: string[] = [];
  try {
    const resolved = await resolveEnvironment({ env: "local" }, {
      env: {},
      localDir: dir,
      localPorts: { dynamodb: 0, s3: 0 },
      log: (m) => messages.push(m),
    });
    try {
      assert.equal(resolved.name, "local");
      assert.equal(resolved.outputs.environment, "local");
      assert.equal(resolved.outputs.signingKeySecretId, join(dir, "signing-key.asc"));
      const response = await fetch(`${resolved.outputs.endpoints?.s3}/`);
      assert.equal(response.status, 200);
      await response.body?.cancel();
    } finally {
      await resolved.close();
    }
    assert.match(messages.join("\n"), /Starting the local stack/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
