/**
 * `deno task rebuild dev` and `deno task sync dev` as an operator runs them,
 * against a fake Lambda API on 127.0.0.1 (`AWS_ENDPOINT_URL_LAMBDA`): they
 * ask for the invocation's log tail and print it on stderr after the answer,
 * also when the function fails, while `--json` stdout stays one document.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DEV_OUTPUTS } from "../support/dev_outputs.ts";
import { taskProcess } from "../support/task_output.ts";

const LOG = "START RequestId: 1f2e\n" +
  '{"level":"INFO","message":"Force rebuild done","timings_ms":{"sign":12}}\n' +
  "END RequestId: 1f2e\nREPORT RequestId: 1f2e Duration: 812.41 ms\n";

interface FakeAnswer {
  payload: unknown;
  functionError?: string;
}

/** A fake Lambda Invoke API: answers `answer`, with `LOG` as the tail when asked for it. */
function fakeLambda(answer: FakeAnswer) {
  const logTypes: (string | null)[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      await request.body?.cancel();
      const logType = request.headers.get("x-amz-log-type");
      logTypes.push(logType);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (logType === "Tail") headers["x-amz-log-result"] = btoa(LOG);
      if (answer.functionError !== undefined) {
        headers["x-amz-function-error"] = answer.functionError;
      }
      return new Response(JSON.stringify(answer.payload), { headers });
    },
  );
  return { server, logTypes };
}

async function runTask(
  script: string,
  args: string[],
  lambda: Deno.HttpServer<Deno.NetAddr>,
  dir: string,
) {
  const outputs = join(dir, "outputs.json");
  await Deno.writeTextFile(outputs, JSON.stringify(DEV_OUTPUTS));
  return await taskProcess(script, args, {
    env: {
      KIRO_OUTPUTS_FILE: outputs,
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${lambda.addr.port}`,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_MAX_ATTEMPTS: "1",
    },
    clearEnv: true,
  });
}

/** The stderr lines from the tail's heading on. */
function tailOf(stderr: string): string {
  const at = stderr.indexOf("Lambda log tail (last 4 KB):\n");
  assert.ok(at >= 0, `no log tail heading in stderr:\n${stderr}`);
  return stderr.slice(at);
}

async function withFakeLambda(
  answer: FakeAnswer,
  fn: (lambda: ReturnType<typeof fakeLambda>, dir: string) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "kiro-log-tail-" });
  const lambda = fakeLambda(answer);
  try {
    await fn(lambda, dir);
  } finally {
    await lambda.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

const REBUILT = {
  statusCode: 200,
  body: JSON.stringify({ message: "Rebuilt", packages: 3, written: 2, skipped: 7, pruned: 0 }),
};

Deno.test("deno task rebuild dev asks for the log tail and prints it on stderr after the answer", async () => {
  await withFakeLambda({ payload: REBUILT }, async (lambda, dir) => {
    const run = await runTask("tasks/rebuild.ts", ["dev", "--json"], lambda.server, dir);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(lambda.logTypes, ["Tail"]);
    assert.equal(JSON.parse(run.stdout).packages, 3);
    assert.doesNotMatch(run.stdout, /RequestId/);
    const tail = tailOf(run.stderr);
    assert.ok(tail.includes(LOG.trimEnd()), run.stderr);
    assert.ok(
      run.stderr.indexOf("Rebuilt dev: 3 packages") < run.stderr.indexOf("Lambda log tail"),
      `the tail comes after the answer:\n${run.stderr}`,
    );
  });
});

Deno.test("deno task rebuild dev prints the log tail after the failure when the function fails", async () => {
  const failed = { errorType: "TypeError", errorMessage: "boom in the handler" };
  await withFakeLambda({ payload: failed, functionError: "Unhandled" }, async (lambda, dir) => {
    const run = await runTask("tasks/rebuild.ts", ["dev", "--json"], lambda.server, dir);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /TypeError: boom in the handler/);
    assert.ok(tailOf(run.stderr).includes("REPORT RequestId: 1f2e"), run.stderr);
    assert.ok(run.stderr.indexOf("boom") < run.stderr.indexOf("Lambda log tail"), run.stderr);
  });
});

Deno.test("deno task sync dev prints the log tail on stderr and keeps --json stdout one document", async () => {
  const done = {
    statusCode: 200,
    body: JSON.stringify({ message: "Scheduled sync done", new_packages: [], failures: [] }),
  };
  await withFakeLambda({ payload: done }, async (lambda, dir) => {
    const run = await runTask("tasks/sync.ts", ["dev", "--json"], lambda.server, dir);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(lambda.logTypes, ["Tail"]);
    assert.deepEqual(JSON.parse(run.stdout).new_packages, []);
    assert.ok(tailOf(run.stderr).includes('"message":"Force rebuild done"'), run.stderr);
  });
});

Deno.test("deno task sync dev prints the log tail also when the function fails", async () => {
  const failed = { errorType: "Error", errorMessage: "Scheduled sync failed" };
  await withFakeLambda({ payload: failed, functionError: "Unhandled" }, async (lambda, dir) => {
    const run = await runTask("tasks/sync.ts", ["dev", "--json"], lambda.server, dir);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(JSON.parse(run.stdout).function_error, "Unhandled");
    assert.ok(tailOf(run.stderr).includes("END RequestId: 1f2e"), run.stderr);
  });
});
