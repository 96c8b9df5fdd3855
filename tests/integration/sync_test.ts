/**
 * The scheduled sync end to end against the local stand-ins: a real fake of
 * Kiro's feed (several versions, both URL layouts, openssl-signed), the real
 * publisher (forceRebuild), the local notifier's JSON-lines file.
 */

import assert from "node:assert/strict";
import type { Logger } from "@aws-lambda-powertools/logger";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { packageId } from "../../lambda/domain/package_record.ts";
import { FileNotifier, type Notification } from "../../lambda/notify/notifier.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import {
  objectStoreFor,
  rebuildDependencies,
  scheduledSyncForEnvironment,
} from "../../lambda/dependencies.ts";
import { silentLogger } from "../../lambda/observability/logger.ts";
import {
  ConfigError,
  type LoadedPackageConfig,
  parsePackageConfigs,
} from "../../lambda/sources/config.ts";
import {
  resignReason,
  runScheduledSync,
  type SyncDeps,
  SyncFailedError,
} from "../../lambda/sources/sync.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { FeedServer, kiroFeed, makeSigningIdentity } from "../support/feed_server.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { missingTools } from "../support/tools.ts";

const KIRO_YAML = await Deno.readTextFile("config/packages/kiro.yaml");
const KIRO_REPO_YAML = await Deno.readTextFile("config/packages/kiro-repo.yaml");

/** A kiro-like config named `name`, reading `feedUrl` (validated like any config file). */
function feedConfig(
  name: string,
  feedUrl: string,
  extra: Record<string, unknown> = {},
): LoadedPackageConfig {
  const data = parse(KIRO_YAML) as { package_name: string; source: Record<string, unknown> };
  data.package_name = name;
  data.source = { ...data.source, feed_url: feedUrl, ...extra };
  return parsePackageConfigs([{ path: `config/packages/${name}.yaml`, text: stringify(data) }])[0]!;
}

async function readNotifications(path: string): Promise<Notification[]> {
  try {
    const text = await Deno.readTextFile(path);
    return text.trim().split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

interface Harness {
  stack: TestStack;
  objects: ObjectStore;
  notificationsFile: string;
  publishes: number;
  deps(configs: LoadedPackageConfig[], extra?: Partial<SyncDeps>): SyncDeps;
}

async function harness(): Promise<Harness> {
  const stack = await startTestStack();
  const objects = objectStoreFor(stack.outputs, stack.clients);
  const rebuild = rebuildDependencies(stack.outputs, stack.clients);
  const notificationsFile = join(stack.dir, "notifications.jsonl");
  const notifier = new FileNotifier(notificationsFile);
  const h: Harness = {
    stack,
    objects,
    notificationsFile,
    publishes: 0,
    deps: (configs, extra = {}) => ({
      configs,
      objects,
      records: stack.store,
      publish: async () => {
        h.publishes++;
        return await forceRebuild(rebuild);
      },
      notifier,
      environment: "local",
      retryDelayMs: 10,
      ...extra,
    }),
  };
  return h;
}

async function text(objects: ObjectStore, key: string): Promise<string | undefined> {
  const bytes = await objects.get(key);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

Deno.test({
  name:
    "the sync ingests the feed's newest version, publishes it once, and a second run does nothing",
  ignore: missingTools(["openssl"]),
  async fn() {
    const h = await harness();
    const server = FeedServer.start();
    const ec = await makeSigningIdentity({ type: "ec" });
    try {
      // Three versions, both layouts; 1.0.100 is newest by dpkg order (not by string order).
      const releases = [];
      for (
        const [version, layout] of [["1.0.100", "flat"], ["1.0.99", "nested"], [
          "1.0.98",
          "flat",
        ]] as const
      ) {
        const deb = await makeTestDeb({
          name: "kiro",
          version,
          architecture: "amd64",
          depends: "libc6 (>= 2.31), libgtk-3-0",
          payloadSize: 100_000,
        });
        releases.push(await server.addRelease({ version, deb, identity: ec, layout }));
      }
      server.setFeed(kiroFeed(releases));
      const configs = [
        feedConfig("kiro", server.feedUrl, { certificate_sha256: ec.fingerprint256 }),
        parsePackageConfigs([{ path: "config/packages/kiro-repo.yaml", text: KIRO_REPO_YAML }])[0]!,
      ];

      const first = await runScheduledSync(h.deps(configs));
      assert.deepEqual(first.new_packages.map((p) => `${p.package_name} ${p.version}`), [
        "kiro 1.0.100",
      ]);
      assert.deepEqual(first.failures, []);
      assert.equal(first.published, true);
      assert.equal(h.publishes, 1);
      assert.equal(server.count(".deb"), 1, "only the newest .deb is downloaded");

      const record = await h.stack.store.get({
        package_name: "kiro",
        version: "1.0.100",
        architecture: "amd64",
      }) as PackageRecord;
      assert.equal(record.package_id, packageId("kiro", "1.0.100"));
      assert.equal(record.package_type, "external_download");
      assert.equal(record.deb_url, releases[0]!.debUrl);
      assert.equal(record.certificate_url, releases[0]!.certificateUrl);
      assert.equal(record.signature_url, releases[0]!.signatureUrl);
      assert.equal(record.notes, releases[0]!.notes);
      assert.equal(record.pub_date, releases[0]!.pub_date);
      assert.equal(record.actual_filename, "kiro_1.0.100_amd64.deb");
      assert.equal(record.pool_key, "pool/main/k/kiro/kiro_1.0.100_amd64.deb");
      assert.equal(record.control.Depends, "libc6 (>= 2.31), libgtk-3-0");
      assert.equal(record.depends, "libc6 (>= 2.31), libgtk-3-0");
      assert.ok(Date.parse(record.processed_timestamp) > Date.now() - 60_000);

      // The pool object is the served .deb, byte for byte, with its hash in the metadata.
      const served = await (await fetch(releases[0]!.debUrl)).bytes();
      assert.deepEqual(await h.objects.get(record.pool_key), served);
      assert.equal(record.file_size, served.byteLength);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", served));
      const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
      assert.equal(record.sha256_hash, hex);
      assert.equal((await h.objects.head(record.pool_key))?.sha256, hex);
      const staging = [];
      for await (const item of h.objects.list("staging/")) staging.push(item.key);
      assert.deepEqual(staging, []);

      // The publish really happened: the Packages index lists the new version.
      const packages = await text(h.objects, "dists/stable/main/binary-amd64/Packages");
      assert.match(packages ?? "", /^Package: kiro\n(?:.+\n)*?Version: 1\.0\.100\n/m);
      assert.match(packages ?? "", new RegExp(`^SHA256: ${hex}$`, "m"));

      const notes = await readNotifications(h.notificationsFile);
      assert.deepEqual(notes.map((n) => [n.kind, n.subject]), [
        ["new_package", "[kiro-repo local] New package: kiro 1.0.100"],
      ]);

      const downloads = server.count(".deb"); // the test's own fetch above included
      const second = await runScheduledSync(h.deps(configs));
      assert.deepEqual(second.new_packages, []);
      assert.deepEqual(second.failures, []);
      assert.equal(second.published, false, `published: ${second.publish_reasons.join("; ")}`);
      assert.ok(
        second.skipped.some((s) => s.package_name === "kiro" && s.reason === "already recorded"),
      );
      assert.equal(server.count(".deb"), downloads, "no download at all for a recorded version");
      assert.equal(server.count("certificate.pem"), 1);
      assert.equal(h.publishes, 1);
      assert.equal((await readNotifications(h.notificationsFile)).length, 1);
    } finally {
      await server.close();
      await ec.remove();
      await h.stack.close();
    }
  },
});

Deno.test({
  name:
    "one broken source does not stop a good one: the good one is published, the failure reported and notified",
  ignore: missingTools(["openssl"]),
  async fn() {
    const h = await harness();
    const good = FeedServer.start();
    const broken = FeedServer.start();
    const rsa = await makeSigningIdentity({ type: "rsa" });
    try {
      const deb = await makeTestDeb({ name: "kiro", version: "1.0.337", architecture: "amd64" });
      good.setFeed(kiroFeed([await good.addRelease({ version: "1.0.337", deb, identity: rsa })]));
      broken.set(broken.feedPath, { status: 500, body: "internal error" });
      const configs = [
        feedConfig("kiro-beta", broken.feedUrl),
        feedConfig("kiro", good.feedUrl),
      ];
      const summary = await runScheduledSync(h.deps(configs));
      assert.deepEqual(summary.new_packages.map((p) => p.package_name), ["kiro"]);
      assert.equal(summary.failures.length, 1);
      assert.equal(summary.failures[0]!.package_name, "kiro-beta");
      assert.equal(summary.failures[0]!.error_type, "FetchError");
      assert.match(summary.failures[0]!.error, /HTTP 500/);
      assert.equal(summary.published, true);
      assert.match(
        await text(h.objects, "dists/stable/main/binary-amd64/Packages") ?? "",
        /^Package: kiro\n(?:.+\n)*?Version: 1\.0\.337$/m,
      );
      const notes = await readNotifications(h.notificationsFile);
      assert.deepEqual(notes.map((n) => n.kind).sort(), ["failure", "new_package"]);
      const failure = notes.find((n) => n.kind === "failure")!;
      assert.equal(failure.subject, "[kiro-repo local] FAILED: Sync of kiro-beta");
      assert.match(failure.message, /HTTP 500/);
    } finally {
      await good.close();
      await broken.close();
      await rsa.remove();
      await h.stack.close();
    }
  },
});

Deno.test("when every source fails the run fails, with the summary and a notification per source", async () => {
  const h = await harness();
  const broken = FeedServer.start();
  try {
    broken.setFeed("<html>maintenance</html>", { contentType: "text/html" });
    const configs = [feedConfig("kiro", broken.feedUrl), feedConfig("kiro-beta", broken.feedUrl)];
    await assert.rejects(runScheduledSync(h.deps(configs)), (error: unknown) => {
      assert.ok(error instanceof SyncFailedError);
      assert.match(error.message, /^Every source failed: kiro: Feed .* is an HTML page/);
      assert.deepEqual(error.summary.failures.map((f) => f.package_name), ["kiro", "kiro-beta"]);
      // Nothing was published yet, so the run still published an (empty) repository.
      assert.equal(error.summary.published, true);
      return true;
    });
    assert.equal(
      (await readNotifications(h.notificationsFile)).filter((n) => n.kind === "failure").length,
      2,
    );
  } finally {
    await broken.close();
    await h.stack.close();
  }
});

Deno.test("the sync re-signs when less than half of the live Release's validity is left, and not before", async () => {
  const h = await harness();
  try {
    const repoOnly = parsePackageConfigs([{
      path: "config/packages/kiro-repo.yaml",
      text: KIRO_REPO_YAML,
    }]);
    const first = await runScheduledSync(h.deps(repoOnly));
    assert.deepEqual(first.publish_reasons, ["no Release is published yet (dists/stable/Release)"]);
    const release = await text(h.objects, "dists/stable/Release") ?? "";
    assert.match(release, /^Valid-Until: /m);

    const fresh = await runScheduledSync(h.deps(repoOnly));
    assert.equal(fresh.published, false);

    const later = new Date(Date.now() + 4 * 86400_000); // Valid-Until is 7 days away by default
    const stale = await runScheduledSync(h.deps(repoOnly, { now: () => later }));
    assert.equal(stale.published, true);
    assert.match(stale.publish_reasons[0]!, /less than half of its validity is left/);
    assert.equal(h.publishes, 2);
    assert.equal(resignReason(release, new Date(Date.now() + 3 * 86400_000)), undefined);
  } finally {
    await h.stack.close();
  }
});

Deno.test("a version recorded by a task after the live Release is published by the next sync", async () => {
  const h = await harness();
  try {
    const repoOnly = parsePackageConfigs([{
      path: "config/packages/kiro-repo.yaml",
      text: KIRO_REPO_YAML,
    }]);
    await runScheduledSync(h.deps(repoOnly));
    // What `deno task build-kiro-repo` does, minus its own rebuild: pool object + record.
    const deb = await makeTestDeb({ name: "kiro-repo", version: "1.2", architecture: "all" });
    const key = "pool/main/k/kiro-repo/kiro-repo_1.2_all.deb";
    const { readDebBytes } = await import("../../lambda/deb/deb_reader.ts");
    const info = await readDebBytes(deb, { name: "kiro-repo_1.2_all.deb" });
    await h.objects.put(key, deb, {
      contentType: "application/vnd.debian.binary-package",
      cacheControl: "public, max-age=31536000, immutable",
    });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // Release Date has second resolution
    await h.stack.store.put({
      package_id: packageId("kiro-repo", "1.2"),
      package_name: "kiro-repo",
      version: "1.2",
      architecture: "all",
      package_type: "build_script",
      pub_date: new Date().toISOString(),
      processed_timestamp: new Date().toISOString(),
      deb_url: `s3://bucket/${key}`,
      actual_filename: "kiro-repo_1.2_all.deb",
      pool_key: key,
      file_size: info.size,
      md5_hash: info.md5,
      sha1_hash: info.sha1,
      sha256_hash: info.sha256,
      section: "misc",
      priority: "optional",
      maintainer: "Kiro Team <support@kiro.dev>",
      homepage: "https://kiro.dev",
      description: "Kiro IDE repository configuration",
      control: info.control,
    });
    const summary = await runScheduledSync(h.deps(repoOnly));
    assert.equal(summary.published, true);
    assert.match(
      summary.publish_reasons[0]!,
      /the live repository differs from the table: .*Packages does not list kiro-repo 1\.2 \(all\)/,
    );
    assert.match(
      await text(h.objects, "dists/stable/main/binary-arm64/Packages") ?? "",
      /^Package: kiro-repo$/m,
    );
  } finally {
    await h.stack.close();
  }
});

Deno.test("a github_release source ingests the newest published release's .deb, checked against SHA256SUMS", async () => {
  const h = await harness();
  const github = FeedServer.start();
  try {
    const newest = await makeTestDeb({ name: "kiro-cli", version: "0.3.0", architecture: "amd64" });
    const older = await makeTestDeb({ name: "kiro-cli", version: "0.2.0", architecture: "amd64" });
    const sha = async (bytes: Uint8Array) =>
      [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>))]
        .map((b) => b.toString(16).padStart(2, "0")).join("");
    const asset = (tag: string, name: string) => ({
      name,
      browser_download_url: `${github.url}/kiro-dev/kiro-cli/releases/download/${tag}/${name}`,
    });
    const publish = (tag: string, name: string, bytes: Uint8Array) =>
      github.set(`/kiro-dev/kiro-cli/releases/download/${tag}/${name}`, { body: bytes });
    publish("v0.3.0", "kiro-cli_0.3.0_amd64.deb", newest);
    publish("v0.2.0", "kiro-cli_0.2.0_amd64.deb", older);
    publish(
      "v0.3.0",
      "SHA256SUMS",
      new TextEncoder().encode(`${await sha(newest)}  kiro-cli_0.3.0_amd64.deb\n`),
    );
    publish(
      "v0.2.0",
      "SHA256SUMS",
      new TextEncoder().encode(`${await sha(older)}  kiro-cli_0.2.0_amd64.deb\n`),
    );
    const releases = (tags: string[]) =>
      JSON.stringify(tags.map((tag) => ({
        tag_name: tag,
        draft: tag === "v0.4.0",
        prerelease: false,
        published_at: "2026-11-20T00:00:00Z",
        body: `Release ${tag}`,
        assets: [asset(tag, `kiro-cli_${tag.slice(1)}_amd64.deb`), asset(tag, "SHA256SUMS")],
      })));
    github.set("/repos/kiro-dev/kiro-cli/releases", {
      body: releases(["v0.4.0", "v0.2.0", "v0.3.0"]),
      contentType: "application/json",
    });
    const data = parse(await Deno.readTextFile("config/packages/kiro-cli.yaml")) as
      & Record<string, unknown>
      & {
        source: Record<string, unknown>;
      };
    data.enabled = true;
    data.source.api_url = github.url;
    const configs = parsePackageConfigs([{
      path: "config/packages/kiro-cli.yaml",
      text: stringify(data),
    }]);

    const summary = await runScheduledSync(h.deps(configs));
    assert.deepEqual(summary.failures, []);
    assert.deepEqual(summary.new_packages.map((p) => `${p.package_name} ${p.version}`), [
      "kiro-cli 0.3.0",
    ]);
    const record = await h.stack.store.get({
      package_name: "kiro-cli",
      version: "0.3.0",
      architecture: "amd64",
    });
    assert.equal(record?.package_type, "github_release");
    assert.equal(record?.notes, "Release v0.3.0");
    assert.equal(record?.sha256_hash, await sha(newest));
    assert.equal(record?.depends, "kiro (>= 1.0)", "the config supplies what the .deb lacks");
    assert.equal(github.count("kiro-cli_0.2.0_amd64.deb"), 0);

    // A checksum that does not match the asset is refused, and nothing is kept.
    const tampered = await makeTestDeb({
      name: "kiro-cli",
      version: "0.5.0",
      architecture: "amd64",
    });
    publish("v0.5.0", "kiro-cli_0.5.0_amd64.deb", tampered);
    publish(
      "v0.5.0",
      "SHA256SUMS",
      new TextEncoder().encode(`${await sha(newest)}  kiro-cli_0.5.0_amd64.deb\n`),
    );
    github.set("/repos/kiro-dev/kiro-cli/releases", {
      body: releases(["v0.5.0", "v0.3.0"]),
      contentType: "application/json",
    });
    await assert.rejects(runScheduledSync(h.deps(configs)), (error: unknown) => {
      assert.ok(error instanceof SyncFailedError);
      assert.match(error.summary.failures[0]!.error, /but its source publishes/);
      return true;
    });
    assert.equal(
      await h.stack.store.get({
        package_name: "kiro-cli",
        version: "0.5.0",
        architecture: "amd64",
      }),
      undefined,
    );
    assert.equal(await h.objects.head("pool/main/k/kiro-cli/kiro-cli_0.5.0_amd64.deb"), undefined);
  } finally {
    await github.close();
    await h.stack.close();
  }
});

Deno.test({
  name:
    "a drip-feeding server fails its source by the download deadline while another source in the run is published",
  ignore: missingTools(["openssl"]),
  async fn() {
    const h = await harness();
    const good = FeedServer.start();
    const slow = FeedServer.start();
    const rsa = await makeSigningIdentity({ type: "rsa" });
    try {
      const deb = await makeTestDeb({ name: "kiro", version: "1.0.337", architecture: "amd64" });
      good.setFeed(kiroFeed([await good.addRelease({ version: "1.0.337", deb, identity: rsa })]));
      const beta = await makeTestDeb({ name: "kiro-beta", version: "2.0", architecture: "amd64" });
      const release = await slow.addRelease({ version: "2.0", deb: beta, identity: rsa });
      slow.setFeed(kiroFeed([release]));
      // One byte every 20 ms: every read is quick, the whole download is not.
      slow.set(new URL(release.debUrl).pathname, { body: beta, dripMs: 20 });
      const configs = [
        feedConfig("kiro-beta", slow.feedUrl, { timeout_seconds: 5, deadline_seconds: 1 }),
        feedConfig("kiro", good.feedUrl),
      ];
      const started = Date.now();
      const summary = await runScheduledSync(h.deps(configs));
      assert.ok(Date.now() - started < 60_000, "the run did not wait for the whole drip");
      assert.deepEqual(summary.new_packages.map((p) => p.package_name), ["kiro"]);
      assert.equal(summary.published, true);
      assert.equal(summary.failures.length, 1);
      assert.equal(summary.failures[0]!.package_name, "kiro-beta");
      assert.match(
        summary.failures[0]!.error,
        /^Download of the \.deb of kiro-beta 2\.0 http:\/\/127\.0\.0\.1:\d+\/\S+ did not finish within its deadline of 1 s \(source\.deadline_seconds\)/,
      );
      assert.equal(
        await h.stack.store.get({
          package_name: "kiro-beta",
          version: "2.0",
          architecture: "amd64",
        }),
        undefined,
      );
    } finally {
      await good.close();
      await slow.close();
      await rsa.remove();
      await h.stack.close();
    }
  },
});

Deno.test({
  name:
    "a pre-signed URL's credentials appear nowhere: logs, errors, summary, notifications file and table",
  ignore: missingTools(["openssl"]),
  async fn() {
    const h = await harness();
    const server = FeedServer.start();
    const rsa = await makeSigningIdentity({ type: "rsa" });
    const lines: string[] = [];
    const record = (level: string) => (message: string, ...extra: unknown[]) =>
      lines.push(JSON.stringify({ level, message, extra }));
    const logger = {
      info: record("info"),
      warn: record("warn"),
      error: record("error"),
      debug: record("debug"),
    } as unknown as Logger;
    const secrets = ["AKIASECRETCREDENTIAL", "SECRETSIGNATURE0123", "SECRETTOKEN42"];
    const signed = (url: string) =>
      `${url}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${secrets[0]}` +
      `&X-Amz-Signature=${secrets[1]}&token=${secrets[2]}`;
    try {
      const deb = await makeTestDeb({ name: "kiro", version: "1.0.337", architecture: "amd64" });
      const good = await server.addRelease({ version: "1.0.337", deb, identity: rsa });
      const goodSigned = {
        ...good,
        debUrl: signed(good.debUrl),
        certificateUrl: signed(good.certificateUrl),
        signatureUrl: signed(good.signatureUrl),
      };
      const broken = FeedServer.start();
      const beta = await makeTestDeb({ name: "kiro-beta", version: "2.0", architecture: "amd64" });
      const missing = await broken.addRelease({ version: "2.0", deb: beta, identity: rsa });
      broken.set(new URL(missing.debUrl).pathname, { status: 404, body: "gone" });
      server.setFeed(kiroFeed([goodSigned]));
      broken.setFeed(kiroFeed([{ ...missing, debUrl: signed(missing.debUrl) }]));
      const configs = [feedConfig("kiro", server.feedUrl), feedConfig("kiro-beta", broken.feedUrl)];
      let summary;
      try {
        summary = await runScheduledSync(h.deps(configs, { logger }));
      } finally {
        await broken.close();
      }
      assert.deepEqual(summary.new_packages.map((p) => p.package_name), ["kiro"]);
      assert.match(summary.failures[0]?.error ?? "", /X-Amz-Signature=REDACTED.*: HTTP 404/);

      const stored = await h.stack.store.listAll();
      assert.equal(stored.length, 1);
      assert.match(stored[0]!.deb_url, /X-Amz-Credential=REDACTED/);
      const seen = {
        logs: lines.join("\n"),
        summary: JSON.stringify(summary),
        notifications: await Deno.readTextFile(h.notificationsFile),
        table: JSON.stringify(stored),
      };
      assert.ok(seen.logs.includes("Source failed") && seen.notifications.includes("FAILED"));
      for (const [where, text] of Object.entries(seen)) {
        for (const secret of secrets) {
          assert.ok(!text.includes(secret), `${secret} leaked into the ${where}`);
        }
      }
    } finally {
      await server.close();
      await rsa.remove();
      await h.stack.close();
    }
  },
});

Deno.test({
  name:
    "a source configured for the beta channel feeds beta: its new version is in beta's index, not stable's",
  ignore: missingTools(["openssl"]),
  async fn() {
    const h = await harness();
    const server = FeedServer.start();
    const ec = await makeSigningIdentity({ type: "ec" });
    try {
      const deb = await makeTestDeb({ name: "kiro", version: "2.0.1", architecture: "amd64" });
      server.setFeed(kiroFeed([await server.addRelease({ version: "2.0.1", deb, identity: ec })]));
      const config = feedConfig("kiro", server.feedUrl, { certificate_sha256: ec.fingerprint256 });
      config.config.channel = "beta";
      const summary = await runScheduledSync(h.deps([config]));
      assert.deepEqual(summary.failures, []);
      const record = await h.stack.store.get({
        package_name: "kiro",
        version: "2.0.1",
        architecture: "amd64",
      });
      assert.deepEqual(record?.channels, ["beta"]);
      const index = async (channel: string) =>
        new TextDecoder().decode(
          await h.objects.get(`dists/${channel}/main/binary-amd64/Packages`),
        );
      assert.match(await index("beta"), /Version: 2\.0\.1\n/);
      assert.doesNotMatch(await index("stable"), /Version: 2\.0\.1\n/);
    } finally {
      await server.close();
      await h.stack.close();
    }
  },
});

Deno.test("a scheduled run refuses a configuration whose channel the stack does not publish, naming the file", async () => {
  const stack = await startTestStack();
  try {
    const data = parse(KIRO_YAML) as Record<string, unknown>;
    data.channel = "nightly";
    const sync = scheduledSyncForEnvironment(stack.outputs, stack.clients, {
      logger: silentLogger(),
      configFiles: [{ path: "config/packages/kiro.yaml", text: stringify(data) }],
    });
    await assert.rejects(
      sync(),
      (error: Error) =>
        error instanceof ConfigError &&
        error.message ===
          'Cannot read config/packages/kiro.yaml: channel is "nightly", which the local stack ' +
            "does not publish (it publishes stable, beta); use one of those or add the channel " +
            "to the stack's channels setting",
    );
  } finally {
    await stack.close();
  }
});
