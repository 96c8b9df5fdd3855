import assert from "node:assert/strict";
import { redactUrl } from "../../lambda/redact.ts";
import {
  checkUrl,
  debFilename,
  fetchBytes,
  FetchError,
  isLoopbackHost,
  isTransient,
  networkCause,
  safeFetch,
  SizeLimitError,
  UnsafeUrlError,
} from "../../lambda/sources/fetch.ts";
import { pseudoRandomBytes } from "../support/deb_fixtures.ts";
import { FeedServer } from "../support/feed_server.ts";

async function readAll(stream: ReadableStream<Uint8Array>): Promise<number> {
  let total = 0;
  for await (const chunk of stream) total += chunk.byteLength;
  return total;
}

Deno.test("only https, or http to a loopback address, may be fetched", () => {
  assert.equal(
    checkUrl("https://download.kiro.dev/a.deb", { what: "x" }).hostname,
    "download.kiro.dev",
  );
  assert.ok(checkUrl("http://127.0.0.1:8080/feed.json", { what: "x" }));
  assert.ok(checkUrl("http://127.1.2.3/feed.json", { what: "x" }));
  assert.ok(checkUrl("http://[::1]:9/feed.json", { what: "x" }));
  assert.throws(
    () => checkUrl("http://download.kiro.dev/a.deb", { what: "the .deb" }),
    (error: unknown) =>
      error instanceof UnsafeUrlError &&
      error.message ===
        "Refusing the .deb http://download.kiro.dev/a.deb: plain http:// is only allowed to loopback hosts; use https://",
  );
  for (
    const url of [
      "http://localhost/a",
      "http://127.0.0.1.evil.com/a",
      "http://10.0.0.1/a",
      "ftp://x/a",
      "file:///etc/passwd",
    ]
  ) {
    assert.throws(() => checkUrl(url, { what: "x" }), UnsafeUrlError, url);
  }
  assert.equal(isLoopbackHost("127.256.0.1"), false);
});

Deno.test("a .deb file name comes from the URL path and must be a plain name ending in .deb", () => {
  assert.equal(debFilename("https://x/a/kiro_1.0.337_amd64.deb?sig=1"), "kiro_1.0.337_amd64.deb");
  assert.equal(debFilename("https://x/kiro_1%3a2.0_amd64.deb"), "kiro_1:2.0_amd64.deb");
  for (
    const url of [
      "https://x/a/..%2F..%2Fetc%2Fkiro.deb",
      "https://x/a/sub%2Fkiro.deb",
      "https://x/a/..%5Ckiro.deb",
      "https://x/a/kiro..deb",
      "https://x/a/kiro.tar.gz",
      "https://x/a/",
      "https://x/a/.hidden.deb",
    ]
  ) {
    assert.throws(() => debFilename(url), UnsafeUrlError, url);
  }
});

Deno.test("redirects are followed up to the limit, each hop re-checked", async () => {
  const server = FeedServer.start();
  try {
    server.set("/final", { body: "hello" });
    server.set("/r1", { location: "/r2" });
    server.set("/r2", { location: `${server.url}/final`, status: 301 });
    const fetched = await fetchBytes(`${server.url}/r1`, { what: "feed" });
    assert.equal(new TextDecoder().decode(fetched.bytes), "hello");
    assert.equal(fetched.url, `${server.url}/final`);
    await assert.rejects(
      fetchBytes(`${server.url}/r1`, { what: "feed", maxRedirects: 1 }),
      /more than 1 redirects/,
    );
    server.set("/to-http", { location: "http://download.kiro.dev/final" });
    await assert.rejects(fetchBytes(`${server.url}/to-http`, { what: "feed" }), UnsafeUrlError);
    server.set("/loop", { location: "/loop" });
    await assert.rejects(
      fetchBytes(`${server.url}/loop`, { what: "feed" }),
      /more than 5 redirects/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("HTTP error statuses are refused naming the status and URL", async () => {
  const server = FeedServer.start();
  try {
    server.set("/boom", { status: 500, body: "oops" });
    await assert.rejects(
      fetchBytes(`${server.url}/missing.deb`, { what: "the .deb" }),
      (error: unknown) => {
        assert.ok(error instanceof FetchError);
        assert.equal(error.status, 404);
        assert.equal(
          error.message,
          `Cannot fetch the .deb ${server.url}/missing.deb: HTTP 404 Not Found`,
        );
        return true;
      },
    );
    await assert.rejects(fetchBytes(`${server.url}/boom`, { what: "feed" }), /HTTP 500/);
  } finally {
    await server.close();
  }
});

Deno.test("a body over the size limit is refused, by Content-Length or while streaming", async () => {
  const server = FeedServer.start();
  const body = pseudoRandomBytes(200_000, 3);
  try {
    server.set("/big", { body });
    await assert.rejects(
      safeFetch(`${server.url}/big`, { what: "the .deb", maxBytes: 100_000 }),
      (error: unknown) =>
        error instanceof SizeLimitError &&
        /200000 bytes is over the limit of 100000/.test(error.message),
    );
    // Without a Content-Length (chunked), the limit applies as bytes arrive.
    const chunked = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(ReadableStream.from([body.subarray(0, 60_000), body.subarray(60_000)])),
    );
    try {
      const fetched = await safeFetch(`http://127.0.0.1:${chunked.addr.port}/`, {
        what: "the .deb",
        maxBytes: 100_000,
      });
      assert.equal(fetched.contentLength, undefined);
      await assert.rejects(readAll(fetched.body), SizeLimitError);
      const ok = await safeFetch(`http://127.0.0.1:${chunked.addr.port}/`, {
        what: "the .deb",
        maxBytes: 200_000,
      });
      assert.equal(await readAll(ok.body), 200_000);
    } finally {
      await chunked.shutdown();
    }
  } finally {
    await server.close();
  }
});

Deno.test("a truncated download is an error, not a short file", async () => {
  const server = FeedServer.start();
  try {
    server.set("/cut.deb", { body: pseudoRandomBytes(100_000, 5), truncateAt: 40_000 });
    const fetched = await safeFetch(`${server.url}/cut.deb`, { what: "the .deb" });
    assert.equal(fetched.contentLength, 100_000);
    await assert.rejects(readAll(fetched.body), FetchError);
  } finally {
    await server.close();
  }
});

Deno.test("no response, or a stalled body, times out", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      if (new URL(request.url).pathname === "/slow-headers") {
        await released;
        return new Response("late");
      }
      return new Response(
        new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(new Uint8Array(10));
            await released;
            controller.close();
          },
        }),
      );
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    await assert.rejects(
      safeFetch(`${base}/slow-headers`, { what: "feed", timeoutMs: 200 }),
      /no response within 0\.2 s/,
    );
    const fetched = await safeFetch(`${base}/stall`, { what: "the .deb", timeoutMs: 200 });
    await assert.rejects(readAll(fetched.body), /stalled: no data for 0\.2 s/);
  } finally {
    release();
    await server.shutdown();
  }
});

Deno.test("credentials in pre-signed URLs never reach messages or logs", async () => {
  assert.equal(
    redactUrl(
      "https://objects.githubusercontent.com/a/b.deb?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&response-content-type=x",
    ),
    "https://objects.githubusercontent.com/a/b.deb?X-Amz-Algorithm=REDACTED&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&response-content-type=x",
  );
  assert.equal(redactUrl("https://user:pw@x.dev/a?token=t"), "https://x.dev/a?token=REDACTED");
  assert.equal(
    redactUrl("https://x.dev/a.deb?channel=stable"),
    "https://x.dev/a.deb?channel=stable",
  );
  const server = FeedServer.start();
  try {
    server.set("/download", { location: "/signed.deb?X-Amz-Signature=secret123&Expires=1" });
    server.set("/signed.deb", { status: 403 });
    await assert.rejects(
      fetchBytes(`${server.url}/download`, { what: "the .deb" }),
      (error: unknown) => {
        assert.ok(error instanceof FetchError);
        assert.ok(!error.message.includes("secret123"), error.message);
        assert.match(error.message, /HTTP 403/);
        return true;
      },
    );
  } finally {
    await server.close();
  }
});

Deno.test("small fetches are tried again after a network error, 429 or 5xx, never after 4xx or a size refusal", async () => {
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    calls++;
    const path = new URL(request.url).pathname;
    if (path === "/flaky" && calls % 3 !== 0) return new Response("busy", { status: 503 });
    if (path === "/missing") return new Response("no", { status: 404 });
    if (path === "/big") return new Response(new Uint8Array(2000));
    return new Response("ok");
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const ok = await fetchBytes(`${base}/flaky`, { what: "feed", retries: 2, retryDelayMs: 5 });
    assert.equal(new TextDecoder().decode(ok.bytes), "ok");
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(
      fetchBytes(`${base}/flaky`, { what: "feed", retries: 1, retryDelayMs: 5 }),
      /HTTP 503/,
    );
    assert.equal(calls, 2);
    calls = 0;
    await assert.rejects(
      fetchBytes(`${base}/missing`, { what: "feed", retries: 3, retryDelayMs: 5 }),
      /HTTP 404/,
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(
      fetchBytes(`${base}/big`, { what: "feed", retries: 3, retryDelayMs: 5, maxBytes: 100 }),
      SizeLimitError,
    );
    assert.equal(calls, 1);
    assert.equal(isTransient(new FetchError("x")), true);
    assert.equal(isTransient(new UnsafeUrlError("x")), false);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a network failure names its cause: name not resolved, connection refused, TLS, timeout", () => {
  const node = (code: string, message: string) =>
    new TypeError("fetch failed", { cause: Object.assign(new Error(message), { code }) });
  assert.match(
    networkCause(node("ENOTFOUND", "getaddrinfo ENOTFOUND feed.invalid")),
    /^the host name was not resolved \(DNS\)/,
  );
  assert.match(
    networkCause(node("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:9")),
    /^the connection was refused/,
  );
  assert.match(
    networkCause(node("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate")),
    /^the TLS connection failed/,
  );
  assert.match(networkCause(node("ETIMEDOUT", "connect ETIMEDOUT")), /^the connection timed out/);
  assert.match(
    networkCause(new TypeError("error sending request for url (https://x.invalid/?token=s3cret)")),
    /token=REDACTED/,
  );
});

Deno.test("a refused connection fails the fetch with its cause, not 'fetch failed'", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    safeFetch(`http://127.0.0.1:${port}/feed.json?token=s3cret`, { what: "feed" }),
    (error: unknown) =>
      error instanceof FetchError &&
      /^Cannot fetch feed http:\/\/127\.0\.0\.1:\d+\/feed\.json\?token=REDACTED: the connection was refused/
        .test(error.message) &&
      !error.message.includes("s3cret"),
  );
});
