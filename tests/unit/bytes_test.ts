import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes, readAllBytes } from "../../lambda/bytes.ts";

async function* reusingProducer(chunks: readonly number[][]): AsyncGenerator<Uint8Array> {
  // One buffer, overwritten for every chunk: what a careless producer hands out.
  const buffer = new Uint8Array(64);
  for (const chunk of chunks) {
    buffer.set(chunk);
    yield buffer.subarray(0, chunk.length);
  }
}

Deno.test("concatBytes joins the parts in order, whatever their sizes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 })),
      (parts) => {
        const joined = concatBytes(parts.map((part) => new Uint8Array(part)));
        assert.deepEqual([...joined], parts.flat());
      },
    ),
    { numRuns: 200 },
  );
  assert.deepEqual(concatBytes([]), new Uint8Array(0));
  assert.deepEqual(concatBytes([[1, 2], new Uint8Array([3])]), new Uint8Array([1, 2, 3]));
});

Deno.test("concatBytes returns a lone part itself and copies otherwise", () => {
  const lone = new Uint8Array([1, 2, 3]);
  assert.equal(concatBytes([lone]), lone);
  const first = new Uint8Array([1]);
  const joined = concatBytes([first, new Uint8Array([2])]);
  first[0] = 9;
  assert.deepEqual(joined, new Uint8Array([1, 2]));
});

Deno.test("readAllBytes keeps every chunk even when the producer reuses its buffer", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }), {
        maxLength: 10,
      }),
      async (chunks) => {
        const bytes = await readAllBytes(reusingProducer(chunks));
        assert.deepEqual([...bytes], chunks.flat());
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("readAllBytes stops a stream that grows past maxBytes with the caller's error", async () => {
  let cancelled = false;
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(10));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  class TooLarge extends Error {}
  await assert.rejects(
    readAllBytes(stream, { maxBytes: 25, tooLarge: () => new TooLarge("member too large") }),
    TooLarge,
  );
  assert.equal(cancelled, true);
  assert.equal(pulled, 3);
  await assert.rejects(
    readAllBytes(reusingProducer([[1, 2, 3]]), { maxBytes: 2 }),
    /larger than 2 bytes/,
  );
  assert.deepEqual(
    await readAllBytes(reusingProducer([[1, 2], [3]]), { maxBytes: 3 }),
    new Uint8Array([1, 2, 3]),
  );
});
