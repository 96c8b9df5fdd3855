import assert from "node:assert/strict";
import { classifyEvent, createHandler, type HandlerDependencies } from "../../lambda/handler.ts";
import { configFromEnvironment } from "../../lambda/environment/variables.ts";
import type { Notification } from "../../lambda/notify/notifier.ts";
import { silentLogger } from "../../lambda/observability/logger.ts";
import { keptLogger, timingFields } from "../support/kept_logger.ts";
import { createMetrics } from "../../lambda/observability/metrics.ts";
import type { RebuildResult } from "../../lambda/rebuild.ts";

const result: RebuildResult = {
  packages: 3,
  channels: [{ channel: "stable", packages: 3, generation: 7 }, { channel: "beta", packages: 0 }],
  written: 4,
  skipped: 9,
  pruned: 1,
  writtenKeys: ["dists/stable/Release"],
  date: "2026-06-01T00:00:00.000Z",
  validUntil: "2026-06-08T00:00:00.000Z",
  timings: {
    lease: 1,
    scan: 2,
    verify: 3,
    generate: 4,
    sign: 5,
    compare: 6,
    upload: 7,
    invalidate: 0,
    prune: 8,
  },
};

function deps(overrides: Partial<HandlerDependencies> = {}) {
  const calls: string[] = [];
  const notifications: Notification[] = [];
  const metrics = createMetrics({ namespace: "Test", serviceName: "test" });
  const emitted: string[] = [];
  const add = metrics.addMetric.bind(metrics);
  metrics.addMetric = (name, unit, value) => {
    emitted.push(name);
    return add(name, unit, value);
  };
  const published: number[] = [];
  metrics.publishStoredMetrics = () => {
    published.push(emitted.length);
    metrics.clearMetrics();
    return metrics;
  };
  const value: HandlerDependencies = {
    forceRebuild: () => {
      calls.push("rebuild");
      return Promise.resolve(result);
    },
    logger: silentLogger(),
    metrics,
    notifier: { notify: (n) => Promise.resolve(void notifications.push(n)) },
    environment: "test",
    ...overrides,
  };
  return { value, calls, notifications, emitted, published };
}

Deno.test("events are told apart: force rebuild, scheduled, unknown", () => {
  assert.equal(classifyEvent({ force_rebuild: true }), "force_rebuild");
  assert.equal(classifyEvent({}), "scheduled");
  assert.equal(classifyEvent(undefined), "scheduled");
  assert.equal(
    classifyEvent({ source: "aws.events", "detail-type": "Scheduled Event", detail: {} }),
    "scheduled",
  );
  assert.equal(classifyEvent({ force_rebuild: "yes" }), "unknown");
  assert.equal(classifyEvent({ force_rebuild: false }), "unknown");
  assert.equal(classifyEvent({ hello: 1 }), "unknown");
  assert.equal(classifyEvent("force_rebuild"), "unknown");
});

Deno.test("a force rebuild answers 200 with the counts and counts a successful run", async () => {
  const { value, calls, emitted, published } = deps();
  const response = await createHandler(value)({ force_rebuild: true }, { awsRequestId: "r-1" });
  assert.equal(published.length, 1, "metrics are flushed once per invocation");
  assert.equal(response.statusCode, 200);
  const body = JSON.parse(response.body);
  assert.equal(body.message, "Rebuilt the repository with 3 packages");
  assert.equal(body.packages, 3);
  assert.equal(body.written, 4);
  assert.equal(body.skipped, 9);
  assert.equal(body.pruned, 1);
  assert.deepEqual(calls, ["rebuild"]);
  assert.ok(emitted.includes("SuccessfulRuns"));
});

Deno.test("the force rebuild's log line gives its wall time and timings in whole milliseconds with the unit in the key", async () => {
  const { logger, lines } = keptLogger();
  const fractional: RebuildResult = {
    ...result,
    timings: { ...result.timings, lease: 0.4, scan: 2.61, sign: 12.5, upload: 240.0417 },
  };
  const { value } = deps({ logger, forceRebuild: () => Promise.resolve(fractional) });
  const response = await createHandler(value)({ force_rebuild: true });
  const done = lines.find((line) => line.message === "Force rebuild done");
  assert.ok(done !== undefined, JSON.stringify(lines));
  assert.deepEqual(done.timings_ms, {
    lease: 0,
    scan: 3,
    verify: 3,
    generate: 4,
    sign: 13,
    compare: 6,
    upload: 240,
    invalidate: 0,
    prune: 8,
  });
  // The wall time of the (instant) fake, not the 277 ms its overlapping parts add up to.
  const duration = done.duration_ms as number;
  assert.ok(Number.isInteger(duration) && duration < 100, `duration_ms ${duration}`);
  const fields = timingFields(done);
  assert.deepEqual(fields.map(([name]) => name), ["duration_ms", "timings_ms"]);
  for (const [name, field] of fields) {
    const values = typeof field === "object" && field !== null ? Object.values(field) : [field];
    assert.match(name, /_ms(\.|$)/, `${name}: the unit belongs in the key`);
    assert.ok(values.every(Number.isInteger), `${name} is not whole milliseconds: ${field}`);
  }
  assert.deepEqual(JSON.parse(response.body).timings_ms, done.timings_ms);
});

Deno.test("a failed force rebuild answers 500 with the error and notifies", async () => {
  const { value, notifications, emitted } = deps({
    forceRebuild: () => Promise.reject(new Error("Refusing to publish: pool object missing")),
  });
  const response = await createHandler(value)({ force_rebuild: true });
  assert.equal(response.statusCode, 500);
  assert.deepEqual(JSON.parse(response.body), {
    error: "Force rebuild failed: Refusing to publish: pool object missing",
  });
  assert.equal(notifications.length, 1);
  assert.match(notifications[0]!.subject, /FAILED: Force rebuild/);
  assert.ok(emitted.includes("FailedRuns") && !emitted.includes("SuccessfulRuns"));
});

Deno.test("a scheduled event without the sync wired in is a clear 501, not a success", async () => {
  const { value, calls, emitted } = deps();
  const response = await createHandler(value)({ source: "aws.events" });
  assert.equal(response.statusCode, 501);
  assert.match(JSON.parse(response.body).error, /runScheduledSync is not wired/);
  assert.deepEqual(calls, []);
  assert.ok(!emitted.includes("SuccessfulRuns"));
});

Deno.test("a scheduled event goes to the sync; its failure is thrown for Lambda's retries", async () => {
  const seen: unknown[] = [];
  const ok = deps({
    scheduledSync: (event) =>
      Promise.resolve(void seen.push(event)).then(() => ({ newPackages: 1 })),
  });
  const response = await createHandler(ok.value)({});
  assert.equal(response.statusCode, 200);
  assert.equal(JSON.parse(response.body).newPackages, 1);
  assert.deepEqual(seen, [{}]);
  assert.ok(ok.emitted.includes("SuccessfulRuns"));

  const failing = deps({ scheduledSync: () => Promise.reject(new Error("feed down")) });
  await assert.rejects(() => createHandler(failing.value)({}), /feed down/);
  assert.equal(failing.notifications.length, 1);

  const partial = deps({ scheduledSync: () => Promise.resolve({ failed: true, failures: 1 }) });
  const answer = await createHandler(partial.value)({});
  assert.equal(answer.statusCode, 500);
  assert.ok(partial.emitted.includes("FailedRuns"));
});

Deno.test("an unknown event is refused with 400", async () => {
  const { value, calls } = deps();
  const response = await createHandler(value)({ rebuild: "please" });
  assert.equal(response.statusCode, 400);
  assert.match(JSON.parse(response.body).error, /force_rebuild/);
  assert.deepEqual(calls, []);
});

Deno.test("the Lambda's configuration comes from its environment variables", () => {
  const config = configFromEnvironment({
    ENVIRONMENT: "dev",
    TABLE_NAME: "t-dev",
    BUCKET_NAME: "b-dev",
    REPO_URL: "https://repo.example/",
    SIGNING_KEY_SECRET_ID: "secret-dev",
    DISTRIBUTION_ID: "E123",
    VALID_UNTIL_DAYS: "10",
    AWS_REGION: "eu-west-1",
  });
  assert.equal(config.outputs.repoUrl, "https://repo.example");
  assert.equal(config.outputs.distributionId, "E123");
  assert.equal(config.outputs.region, "eu-west-1");
  assert.equal(config.validUntilDays, 10);
  assert.deepEqual(config.retention, {});
  const base = {
    ENVIRONMENT: "prod",
    TABLE_NAME: "t",
    BUCKET_NAME: "b",
    REPO_URL: "https://r",
    SIGNING_KEY_SECRET_ID: "s",
  };
  assert.deepEqual(
    configFromEnvironment({ ...base, BY_HASH_KEEP_GENERATIONS: "5", BY_HASH_KEEP_HOURS: "12" })
      .retention,
    { keepGenerations: 5, keepSeconds: 43200 },
  );
  assert.throws(
    () => configFromEnvironment({ ...base, BY_HASH_KEEP_GENERATIONS: "0" }),
    /BY_HASH_KEEP_GENERATIONS must be a whole number >= 1/,
  );
  assert.throws(() => configFromEnvironment({ ENVIRONMENT: "dev" }), /TABLE_NAME is not set/);
  assert.throws(
    () =>
      configFromEnvironment({
        ENVIRONMENT: "dev",
        TABLE_NAME: "t",
        BUCKET_NAME: "b",
        REPO_URL: "https://r",
        SIGNING_KEY_SECRET_ID: "s",
        VALID_UNTIL_DAYS: "0",
      }),
    /VALID_UNTIL_DAYS must be a positive number/,
  );
});
