/**
 * `deno task sync --feed-url URL` as an operator runs it: refused where the
 * Lambda reads its bundled feeds, and for what is not an http(s) URL.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

async function runTask(script: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("--feed-url is refused for dev and prod, whose Lambda reads its bundled feeds", async () => {
  const run = await runTask("tasks/sync.ts", [
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
    const run = await runTask("tasks/sync.ts", ["local", "--feed-url", bad]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /sync: Option --feed-url must be (a URL|an http:\/\/ or https:\/\/ URL)/,
    );
  }
});
