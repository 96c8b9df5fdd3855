/**
 * `deno task fake-feed` and `deno task sync --feed-url URL` as an operator
 * runs them: the fake feed's release synced into a fresh local stack;
 * `--feed-url` refused where the Lambda reads its bundled feeds, and for
 * what is not an http(s) URL.
 */

import assert from "node:assert/strict";
import { missingTools } from "../support/tools.ts";
import { freePort } from "../support/http.ts";
import { startTaskProcess, taskProcess } from "../support/task_output.ts";

Deno.test("--feed-url is refused for dev and prod, whose Lambda reads its bundled feeds", async () => {
  const run = await taskProcess("tasks/sync.ts", [
    "dev",
    "--feed-url",
    "http://127.0.0.1:8765/feed.json",
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, "");
  assert.match(
    run.stderr,
    /sync: Option --feed-url is for local runs only: the dev Lambda reads the feeds of its bundled configurations; drop --feed-url or run deno task sync local/,
  );
});

Deno.test("--feed-url must be an http or https URL", async () => {
  for (const bad of ["not a url", "file:///tmp/feed.json"]) {
    const run = await taskProcess("tasks/sync.ts", ["local", "--feed-url", bad]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /sync: Option --feed-url must be (a URL|an http:\/\/ or https:\/\/ URL)/,
    );
  }
});

Deno.test({
  name:
    "deno task fake-feed serves a signed kiro release that deno task sync local --feed-url ingests and publishes",
  ignore: missingTools(["openssl"]),
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "kiro-fake-feed-" });
    const port = freePort();
    const feed = startTaskProcess("tasks/fake_feed.ts", [
      "--port",
      String(port),
      "--version",
      "1.0.500",
    ]);
    try {
      const shown = await feed.waitFor(/Fake Kiro feed: (\S+)\n/);
      const feedUrl = /Fake Kiro feed: (\S+)\n/.exec(shown)?.[1] ?? "";
      assert.ok(feedUrl.startsWith(`http://127.0.0.1:${port}/`), feedUrl);

      const sync = await taskProcess("tasks/sync.ts", ["local", "--feed-url", feedUrl, "--json"], {
        env: {
          KIRO_LOCAL_DIR: `${state}/local`,
          KIRO_LOCAL_DYNAMODB_PORT: String(freePort()),
          KIRO_LOCAL_S3_PORT: String(freePort()),
          LOG_LEVEL: "WARN",
        },
      });
      assert.equal(sync.code, 0, sync.stderr);
      const summary = JSON.parse(sync.stdout) as {
        new_packages: { package_name: string; version: string }[];
        failures: unknown[];
        published: boolean;
      };
      assert.deepEqual(
        summary.new_packages.map((p) => `${p.package_name} ${p.version}`),
        ["kiro 1.0.500"],
      );
      assert.deepEqual(summary.failures, []);
      assert.equal(summary.published, true);
    } finally {
      const stopped = await feed.stop("SIGTERM");
      await Deno.remove(state, { recursive: true });
      assert.equal(stopped.status.code, 0, `${stopped.stdout}\n${stopped.stderr}`);
      assert.match(stopped.stdout, /\nStopped\n$/);
    }
  },
});
