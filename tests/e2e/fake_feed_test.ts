/**
 * `deno task fake-feed` and `deno task sync --feed-url URL` as an operator
 * runs them: the fake feed's release synced into a fresh local stack;
 * `--feed-url` refused where the Lambda reads its bundled feeds, and for
 * what is not an http(s) URL.
 */

import assert from "node:assert/strict";
import { missingTools } from "../support/tools.ts";
import { freePort } from "../support/http.ts";
import { REPOSITORY_ROOT, taskProcess } from "../support/task_output.ts";

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

/** Reads the child's stdout until a line matches; the rest keeps draining in the background. */
async function firstMatchingLine(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
): Promise<{ match: RegExpMatchArray; drained: Promise<string> }> {
  const lines = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`fake-feed ended before printing ${pattern}; it printed:\n${text}`);
    text += value;
    const match = text.match(pattern);
    if (match) {
      const drained = (async () => {
        for (;;) {
          const next = await lines.read();
          if (next.done) return text;
          text += next.value;
        }
      })();
      return { match, drained };
    }
  }
}

Deno.test({
  name:
    "deno task fake-feed serves a signed kiro release that deno task sync local --feed-url ingests and publishes",
  ignore: missingTools(["openssl"]),
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "kiro-fake-feed-" });
    const port = freePort();
    const feed = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "tasks/fake_feed.ts",
        "--port",
        String(port),
        "--version",
        "1.0.500",
      ],
      cwd: REPOSITORY_ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let drained: Promise<string> | undefined;
    try {
      const shown = await firstMatchingLine(feed.stdout, /Fake Kiro feed: (\S+)\n/);
      drained = shown.drained;
      const feedUrl = shown.match[1] ?? "";
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
      feed.kill("SIGTERM");
      const status = await feed.status;
      const printed = await drained;
      await Deno.remove(state, { recursive: true });
      assert.equal(status.code, 0, printed);
      if (printed !== undefined) assert.match(printed, /\nStopped\n$/);
    }
  },
});
