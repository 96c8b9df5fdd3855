import assert from "node:assert/strict";
import { gunzipSync, gzip as zlibGzip } from "node:zlib";
import fc from "fast-check";
import { gzip } from "../../lambda/repo/compress.ts";
import {
  GZIP_SLICE,
  gzipStream,
  type GzipWorkerAnswer,
  serveGzipRequests,
} from "../../lambda/repo/gzip_stream.ts";

/** `node:zlib`'s one-shot gzip, as `gzip` of compress.ts called it before it could use a worker. */
function oneShot(data: Uint8Array, level: number): Promise<Uint8Array> {
  const chunkSize = Math.min(Math.max(data.length, 64 * 1024), 1024 * 1024);
  return new Promise((resolve, reject) =>
    zlibGzip(
      data,
      { level, chunkSize },
      (error, out) => error ? reject(error) : resolve(new Uint8Array(out)),
    )
  );
}

/** A text of `size` bytes made of deb822-like lines, from a seed (fast to make at megabytes). */
function indexLike(seed: number, size: number): Uint8Array {
  const words = ["Package", "Version", "kiro", "amd64", "Depends", "libc6 (>= 2.36)", " .", "é"];
  let state = seed >>> 0 || 1;
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    state = (state * 1103515245 + 12345) >>> 0;
    const word = `${words[state % words.length]}${state % 7 === 0 ? "\n" : ": "}${state % 1000}`;
    parts.push(word);
    length += word.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, size);
}

async function streamed(data: Uint8Array, runner: "auto" | "zlib"): Promise<Uint8Array> {
  const stream = gzipStream({ level: 6, runner });
  for (let at = 0; at < data.length; at += GZIP_SLICE) {
    stream.write(data.subarray(at, at + GZIP_SLICE));
  }
  return await stream.finish();
}

Deno.test("gzip fed in slices gives the bytes of node:zlib's one-shot gzip, in a worker and on the thread pool", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer(),
      fc.integer({ min: GZIP_SLICE - 3, max: 2 * GZIP_SLICE + 70_000 }),
      async (seed, size) => {
        const data = indexLike(seed, size);
        const expected = await oneShot(data, 6);
        const [worker, zlib, whole] = await Promise.all([
          streamed(data, "auto"),
          streamed(data, "zlib"),
          gzip(data, { sha256: `test-${seed}-${size}` }),
        ]);
        assert.deepEqual(worker, expected);
        assert.deepEqual(zlib, expected);
        assert.deepEqual(whole, expected);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("a gzip stream of an empty or short input decompresses to it", async () => {
  for (const data of [new Uint8Array(), new TextEncoder().encode("Package: kiro\n")]) {
    const stream = gzipStream({ level: 6 });
    if (data.length > 0) stream.write(data);
    assert.deepEqual(new Uint8Array(gunzipSync(await stream.finish())), data);
  }
});

Deno.test("an aborted gzip stream stops its worker and never settles as a success", async () => {
  for (const runner of ["auto", "zlib"] as const) {
    const stream = gzipStream({ level: 6, runner });
    stream.write(indexLike(7, GZIP_SLICE));
    stream.abort();
  }
  // Nothing is left running: the test's sanitizers would report a pending op.
  await new Promise((resolve) => setTimeout(resolve, 50));
});

Deno.test("the gzip worker answers an error for a request out of order", () => {
  const answers: GzipWorkerAnswer[] = [];
  const serve = serveGzipRequests((message) => answers.push(message));
  serve({ type: "write", slice: new Uint8Array([1]) });
  assert.equal(answers.length, 1);
  assert.equal(answers[0]!.type, "error");
  assert.match((answers[0] as { message: string }).message, /before "start"/);
});
