import assert from "node:assert/strict";
import fc from "fast-check";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { compareVersions } from "../../lambda/domain/version.ts";
import type { Notification, Notifier } from "../../lambda/notify/notifier.ts";
import { MemoryObjectStore } from "../support/memory_object_store.ts";
import { parsePackageConfigs } from "../../lambda/sources/config.ts";
import { parseRelease } from "../../lambda/repo/release.ts";
import { resignReason, runScheduledSync } from "../../lambda/sources/sync.ts";
import { FeedServer, kiroFeed, type ReleaseUrls } from "../support/feed_server.ts";
import { MemoryRecords } from "../support/publish_fixtures.ts";
import { keptLogger, timingFields } from "../support/kept_logger.ts";

function release(date: Date, days: number): string {
  const fmt = (d: Date) => d.toUTCString().replace("GMT", "UTC");
  const until = new Date(date.getTime() + days * 86400_000);
  return `Origin: Kiro\nSuite: stable\nDate: ${fmt(date)}\nValid-Until: ${fmt(until)}\nSHA256:\n`;
}

Deno.test("a Release is re-signed once less than half of its validity is left", () => {
  const date = new Date("2026-11-01T00:00:00Z");
  const text = release(date, 8);
  const parsed = parseRelease(text);
  assert.deepEqual(
    { date: parsed.date, validUntil: parsed.validUntil },
    { date, validUntil: new Date("2026-11-09T00:00:00Z") },
  );
  assert.equal(resignReason(text, new Date("2026-11-04T23:59:59Z")), undefined);
  assert.match(
    resignReason(text, new Date("2026-11-05T00:00:01Z")) ?? "",
    /less than half of its validity is left/,
  );
  assert.match(resignReason(text, new Date("2026-12-01T00:00:00Z")) ?? "", /less than half/);
  assert.match(resignReason("Origin: Kiro\n", date) ?? "", /no readable Date or Valid-Until/);
});

const quiet: Notifier = { notify: (_: Notification) => Promise.resolve() };

Deno.test("a version already recorded is skipped with no download at all", async () => {
  const server = FeedServer.start();
  const config = parsePackageConfigs([{
    path: "config/packages/kiro.yaml",
    text: Deno.readTextFileSync("config/packages/kiro.yaml").replace(
      /feed_url: .*/,
      `feed_url: ${server.feedUrl}`,
    ),
  }]);
  const versionArb = fc.tuple(fc.nat(3), fc.nat(20), fc.nat(400)).map(([a, b, c]) =>
    `${a}.${b}.${c}`
  );
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(versionArb, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        async (versions, pick) => {
          const sorted = [...versions].sort((a, b) => compareVersions(b, a));
          const current = sorted[pick % sorted.length]!;
          const urls: ReleaseUrls[] = sorted.map((version) => ({
            version,
            debUrl: `${server.url}/r/${version}/kiro_${version}_amd64.deb`,
            certificateUrl: `${server.url}/r/${version}/certificate.pem`,
            signatureUrl: `${server.url}/r/${version}/signature.bin`,
            pub_date: "2026-01-01",
            notes: "",
          }));
          server.setFeed(kiroFeed(urls, { currentRelease: current }));
          const records = new MemoryRecords();
          records.records.set(
            `kiro#${current}\0amd64`,
            {
              package_id: `kiro#${current}`,
              package_name: "kiro",
              version: current,
              architecture: "amd64",
            } as PackageRecord,
          );
          const objects = new MemoryObjectStore();
          await objects.put(
            "dists/stable/Release",
            new TextEncoder().encode(release(new Date(), 7)),
            {
              contentType: "text/plain",
              cacheControl: "no-cache",
            },
          );
          let published = 0;
          const before = server.requests.length;
          const summary = await runScheduledSync({
            configs: config,
            objects,
            records,
            publish: () => Promise.resolve(published++),
            notifier: quiet,
            environment: "test",
          });
          const requested = server.requests.slice(before);
          assert.deepEqual(requested, [server.feedPath], "only the feed was fetched");
          assert.deepEqual(summary.skipped, [{
            package_name: "kiro",
            version: current,
            reason: "already recorded",
          }]);
          assert.deepEqual(summary.new_packages, []);
          // (This bare Release lists nothing, so the convergence check may publish.)
          assert.ok(published <= 1);
        },
      ),
      { numRuns: 100 },
    );
  } finally {
    await server.close();
  }
});

Deno.test("disabled and task-recorded sources are skipped without any request", async () => {
  const files = ["kiro-cli", "kiro-repo"].map((name) => ({
    path: `config/packages/${name}.yaml`,
    text: Deno.readTextFileSync(`config/packages/${name}.yaml`),
  }));
  const objects = new MemoryObjectStore();
  await objects.put("dists/stable/Release", new TextEncoder().encode(release(new Date(), 7)), {
    contentType: "text/plain",
    cacheControl: "no-cache",
  });
  let fetched = 0;
  const summary = await runScheduledSync({
    configs: parsePackageConfigs(files),
    objects,
    records: new MemoryRecords(),
    publish: () => Promise.resolve(),
    notifier: quiet,
    environment: "test",
    fetch: () => {
      fetched++;
      return Promise.reject(new Error("no network in this test"));
    },
  });
  assert.equal(fetched, 0);
  assert.deepEqual(summary.skipped.map((s) => s.package_name), ["kiro-cli", "kiro-repo"]);
  assert.match(
    summary.skipped[0]!.reason,
    /^disabled \(enabled: false in config\/packages\/kiro-cli\.yaml\)$/,
  );
  // Nothing new: only the convergence check (this bare Release is unsigned) may publish.
  assert.ok(summary.publish_reasons.every((reason) => !/new package/.test(reason)));
});

Deno.test("the sync's last log line gives its durations in whole milliseconds with the unit in the key", async () => {
  const { logger, lines } = keptLogger();
  const summary = await runScheduledSync({
    configs: parsePackageConfigs([{
      path: "config/packages/kiro-repo.yaml",
      text: Deno.readTextFileSync("config/packages/kiro-repo.yaml"),
    }]),
    objects: new MemoryObjectStore(),
    records: new MemoryRecords(),
    // No Release yet: the run publishes, which takes a few fractional milliseconds.
    publish: () => new Promise((resolve) => setTimeout(resolve, 3.3)),
    notifier: quiet,
    environment: "test",
    logger,
  });
  assert.ok(summary.published);
  const finished = lines.find((line) => line.message === "Sync finished");
  assert.ok(finished !== undefined, JSON.stringify(lines));
  const fields = timingFields(finished);
  assert.deepEqual(fields.map(([name]) => name), ["duration_ms", "publish_duration_ms"]);
  for (const [name, value] of fields) {
    assert.ok(Number.isInteger(value) && (value as number) >= 0, `${name}: ${value}`);
  }
  assert.ok((finished.publish_duration_ms as number) >= 3);
  assert.equal(finished.publish_duration_ms, summary.publish_duration_ms);
});

Deno.test("a failed publish fails the run and is notified", async () => {
  const notes: Notification[] = [];
  const files = [{
    path: "config/packages/kiro-repo.yaml",
    text: Deno.readTextFileSync("config/packages/kiro-repo.yaml"),
  }];
  await assert.rejects(
    runScheduledSync({
      configs: parsePackageConfigs(files),
      objects: new MemoryObjectStore(),
      records: new MemoryRecords(),
      publish: () => Promise.reject(new Error("lease held by someone else")),
      notifier: { notify: (n) => Promise.resolve(void notes.push(n)) },
      environment: "test",
    }),
    (error: unknown) => {
      assert.match(String(error), /The sync could not publish: lease held by someone else/);
      return true;
    },
  );
  assert.deepEqual(notes.map((n) => n.subject), ["[kiro-repo test] FAILED: Publish"]);
});

Deno.test("the sync publishes when the daily full check of the pool objects is due", async () => {
  const objects = new MemoryObjectStore();
  const now = new Date();
  await objects.put("dists/stable/Release", new TextEncoder().encode(release(now, 7)), {
    contentType: "text/plain",
    cacheControl: "no-cache",
  });
  let published = 0;
  const asked: Date[] = [];
  const summary = await runScheduledSync({
    configs: [],
    objects,
    records: new MemoryRecords(),
    publish: () => Promise.resolve(published++),
    notifier: quiet,
    environment: "test",
    now: () => now,
    fullPoolCheckDue: (at) => {
      asked.push(at);
      return Promise.resolve("the daily full check of the pool objects is due (the last was at X)");
    },
  });
  assert.deepEqual(asked, [now]);
  assert.deepEqual(summary.publish_reasons, [
    "the daily full check of the pool objects is due (the last was at X)",
  ]);
  assert.equal(published, 1);
});
