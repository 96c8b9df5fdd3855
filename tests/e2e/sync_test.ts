/**
 * `deno task sync local --config-dir DIR` as an operator runs it: a separate
 * process, its own local stack (temp state folder, free ports), the fake
 * Kiro feed server; the output ends with the JSON summary.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { FeedServer, kiroFeed, makeSigningIdentity } from "../support/feed_server.ts";
import { missingTools } from "../support/tools.ts";
import { describeRun, openApt } from "../support/apt.ts";
import { startTestStack } from "../support/stack.ts";
import { DEV_OUTPUTS } from "../support/dev_outputs.ts";
import { freePort } from "../support/http.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { objectStoreFor, rebuildDependencies } from "../../lambda/dependencies.ts";
import { runScheduledSync } from "../../lambda/sources/sync.ts";
import { parsePackageConfigs } from "../../lambda/sources/config.ts";
import { FileNotifier } from "../../lambda/notify/notifier.ts";

async function runSyncTask(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "tasks/sync.ts", ...args],
    env: { LOG_LEVEL: "WARN", ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, stdout, stderr };
}

/** The one JSON document of a `--json` run: the whole of stdout. */
function finalJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout);
}

Deno.test({
  name:
    "deno task sync local ingests the feed's newest version, prints the summary, and a second run does nothing",
  ignore: missingTools(["openssl"]),
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "kiro-sync-task-" });
    const server = FeedServer.start();
    const rsa = await makeSigningIdentity({ type: "rsa" });
    try {
      const releases = [];
      for (const [version, layout] of [["1.0.337", "nested"], ["1.0.336", "flat"]] as const) {
        const deb = await makeTestDeb({ name: "kiro", version, architecture: "amd64" });
        releases.push(await server.addRelease({ version, deb, identity: rsa, layout }));
      }
      server.setFeed(kiroFeed(releases));
      const configs = join(state, "configs");
      await Deno.mkdir(configs);
      const kiro = parse(await Deno.readTextFile("config/packages/kiro.yaml")) as {
        source: Record<string, unknown>;
      };
      kiro.source.feed_url = server.feedUrl;
      kiro.source.certificate_sha256 = rsa.fingerprint256;
      await Deno.writeTextFile(join(configs, "kiro.yaml"), stringify(kiro));
      await Deno.copyFile("config/packages/kiro-repo.yaml", join(configs, "kiro-repo.yaml"));
      const env = {
        KIRO_LOCAL_DIR: join(state, "local"),
        KIRO_LOCAL_DYNAMODB_PORT: String(freePort()),
        KIRO_LOCAL_S3_PORT: String(freePort()),
      };

      const first = await runSyncTask(["local", "--config-dir", configs, "--json"], env);
      assert.equal(first.code, 0, first.stderr);
      const summary = finalJson(first.stdout);
      assert.deepEqual(
        (summary.new_packages as { package_name: string; version: string }[]).map((p) =>
          `${p.package_name} ${p.version}`
        ),
        ["kiro 1.0.337"],
      );
      assert.equal(summary.published, true);
      assert.deepEqual(summary.failures, []);
      assert.match(
        first.stderr,
        /Configurations: kiro-repo \(build_script\), kiro \(external_download\)/,
      );
      const notifications = (await Deno.readTextFile(join(state, "local", "notifications.jsonl")))
        .trim().split("\n").map((line) => JSON.parse(line));
      assert.deepEqual(notifications.map((n) => n.kind), ["new_package"]);

      const second = await runSyncTask(["local", "--config-dir", configs], env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /^Sync of local: 0 new, \d+ skipped, 0 failed\n/);
      assert.match(second.stdout, /\nNothing to publish\n$/);
      assert.equal(server.count(".deb"), 1);
    } finally {
      await server.close();
      await rsa.remove();
      await Deno.remove(state, { recursive: true });
    }
  },
});

Deno.test("deno task sync without a reachable feed fails in one line that names each URL and the network cause", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-sync-offline-" });
  try {
    const refused = `http://127.0.0.1:${freePort()}/feed.json`;
    const unresolved = "https://feed.invalid/feed.json";
    const kiro = parse(await Deno.readTextFile("config/packages/kiro.yaml")) as {
      package_name: string;
      source: Record<string, unknown>;
    };
    const configs = join(dir, "configs");
    await Deno.mkdir(configs);
    kiro.source.feed_url = refused;
    await Deno.writeTextFile(join(configs, "kiro.yaml"), stringify(kiro));
    kiro.package_name = "kiro-beta";
    kiro.source.feed_url = unresolved;
    await Deno.writeTextFile(join(configs, "kiro-beta.yaml"), stringify(kiro));

    const run = await runSyncTask(["local", "--config-dir", configs], {
      KIRO_LOCAL_DIR: join(dir, "state"),
      KIRO_LOCAL_DYNAMODB_PORT: String(freePort()),
      KIRO_LOCAL_S3_PORT: String(freePort()),
    });
    assert.equal(run.code, 1, run.stderr);
    const failure = run.stderr.trim().split("\n").filter((line) => line.startsWith("sync: "));
    assert.equal(failure.length, 1, run.stderr);
    assert.match(
      failure[0] ?? "",
      new RegExp(
        `^sync: Every source failed: .*kiro: Cannot fetch feed ${
          refused.replaceAll(".", "\\.")
        }: the connection was refused; check that the server is up`,
      ),
    );
    assert.match(
      failure[0] ?? "",
      /kiro-beta: Cannot fetch feed https:\/\/feed\.invalid\/feed\.json: the host name was not resolved \(DNS\)/,
    );
    assert.doesNotMatch(run.stderr, /fetch failed: |\n\s+at /, "no bare fetch failed, no stack");
    assert.doesNotMatch(run.stderr, /^\{"level"/m, "no JSON log line without --verbose");

    const verbose = await runSyncTask(["local", "--config-dir", configs, "--verbose"], {
      KIRO_LOCAL_DIR: join(dir, "state"),
      KIRO_LOCAL_DYNAMODB_PORT: String(freePort()),
      KIRO_LOCAL_S3_PORT: String(freePort()),
      LOG_LEVEL: "INFO",
    });
    assert.equal(verbose.code, 1, verbose.stderr);
    assert.match(verbose.stderr, /^\{"level":"(ERROR|WARN)".*"message":"Source failed"/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task sync refuses invalid configurations before starting anything", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-sync-configs-" });
  try {
    await Deno.writeTextFile(
      join(dir, "kiro.yaml"),
      (await Deno.readTextFile("config/packages/kiro.yaml")).replace(
        "type: external_download",
        "type: torrent",
      ),
    );
    await Deno.writeTextFile(join(dir, "broken.yaml"), "package_name: [broken\n");
    const run = await runSyncTask(["local", "--config-dir", dir], {
      KIRO_LOCAL_DIR: join(dir, "state"),
    });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `Cannot read ${dir}/kiro\\.yaml: source\\.type must be one of external_download, build_script, github_release, upload`,
      ),
    );
    assert.match(
      run.stderr,
      new RegExp(`Cannot read ${dir}/broken\\.yaml: invalid YAML at line \\d+, column \\d+`),
    );
    await assert.rejects(
      Deno.stat(join(dir, "state")),
      Deno.errors.NotFound,
      "no local stack was started",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "after a sync, real apt-get installs-by-download the feed's newest kiro, byte for byte",
  ignore: missingTools(["openssl", "apt-get"], { root: true }),
  async fn() {
    const stack = await startTestStack();
    const server = FeedServer.start();
    const ec = await makeSigningIdentity({ type: "ec" });
    try {
      const releases = [];
      for (const [version, layout] of [["1.0.338", "flat"], ["1.0.337", "nested"]] as const) {
        const deb = await makeTestDeb({
          name: "kiro",
          version,
          architecture: "amd64",
          payloadSize: 40_000,
        });
        releases.push({
          deb,
          urls: await server.addRelease({ version, deb, identity: ec, layout }),
        });
      }
      server.setFeed(kiroFeed(releases.map((r) => r.urls)));
      const kiro = parse(await Deno.readTextFile("config/packages/kiro.yaml")) as {
        source: Record<string, unknown>;
      };
      kiro.source.feed_url = server.feedUrl;
      const objects = objectStoreFor(stack.outputs, stack.clients);
      const rebuild = rebuildDependencies(stack.outputs, stack.clients);
      const summary = await runScheduledSync({
        configs: parsePackageConfigs([{
          path: "config/packages/kiro.yaml",
          text: stringify(kiro),
        }]),
        objects,
        records: stack.store,
        publish: () => forceRebuild(rebuild),
        notifier: new FileNotifier(join(stack.dir, "notifications.jsonl")),
        environment: "local",
      });
      assert.deepEqual(summary.new_packages.map((p) => p.version), ["1.0.338"]);

      const keyring = await objects.get("kiro-archive-keyring.pgp");
      assert.ok(keyring, "the publish wrote the keyring");
      const apt = await openApt({ repoUrl: stack.outputs.repoUrl, keyring });
      try {
        const update = await apt.update();
        assert.ok(update.success, describeRun(update));
        const download = await apt.download(["kiro"]);
        assert.ok(download.success, describeRun(download));
        const expected = releases[0]!.deb;
        const digest = new Uint8Array(
          await crypto.subtle.digest("SHA-256", expected as Uint8Array<ArrayBuffer>),
        );
        const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
        assert.deepEqual(download.files.map((f) => [f.name, f.size, f.sha256]), [
          ["kiro_1.0.338_amd64.deb", expected.byteLength, hex],
        ]);
      } finally {
        await apt.close();
      }
    } finally {
      await server.close();
      await ec.remove();
      await stack.close();
    }
  },
});

Deno.test("deno task sync dev invokes the deployed Lambda with a scheduled event and prints its summary", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-sync-invoke-" });
  const invocations: { path: string; event: Record<string, unknown> }[] = [];
  const summary = {
    environment: "dev",
    new_packages: [{ package_name: "kiro", version: "1.0.400" }],
    failures: [],
  };
  const lambda = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      invocations.push({ path: new URL(request.url).pathname, event: await request.json() });
      return Response.json({
        statusCode: 200,
        body: JSON.stringify({ message: "Scheduled sync done", ...summary }),
      });
    },
  );
  try {
    const outputs = join(dir, "outputs.json");
    await Deno.writeTextFile(
      outputs,
      JSON.stringify(DEV_OUTPUTS),
    );
    const run = await runSyncTask(["dev", "--json"], {
      KIRO_OUTPUTS_FILE: outputs,
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${lambda.addr.port}`,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(invocations.length, 1);
    assert.equal(
      invocations[0]!.path,
      "/2015-03-31/functions/kiro-debian-repo-manager-publisher-dev/invocations",
    );
    assert.equal(invocations[0]!.event.source, "aws.events");
    assert.equal(invocations[0]!.event["detail-type"], "Scheduled Event");
    const printed = finalJson(run.stdout);
    assert.deepEqual(printed.new_packages, summary.new_packages);
    assert.match(
      run.stderr,
      /Invoking kiro-debian-repo-manager-publisher-dev with a scheduled event/,
    );
  } finally {
    await lambda.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
