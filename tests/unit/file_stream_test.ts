import assert from "node:assert/strict";
import fc from "fast-check";
import { openFileStream } from "../../tasks/lib/file_stream.ts";

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

Deno.test("openFileStream yields the whole file in chunks of the asked size (property)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 5000 }),
        fc.integer({ min: 1, max: 2000 }),
        async (bytes, chunkBytes) => {
          const path = `${dir}/file`;
          await Deno.writeFile(path, bytes);
          const chunks = await collect(openFileStream(path, { chunkBytes }));
          assert.deepEqual(new Uint8Array(chunks.flatMap((chunk) => [...chunk])), bytes);
          assert.ok(chunks.slice(0, -1).every((chunk) => chunk.byteLength === chunkBytes));
          assert.equal(chunks.length, Math.ceil(bytes.byteLength / chunkBytes));
        },
      ),
      { numRuns: 100 },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openFileStream closes the file when the reader stops early, and names a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/file`;
    await Deno.writeFile(path, new Uint8Array(10_000));
    const reader = openFileStream(path, { chunkBytes: 100 }).getReader();
    assert.equal((await reader.read()).value?.byteLength, 100);
    await reader.cancel(); // Deno's resource sanitizer fails the test if the file stays open.
    await assert.rejects(collect(openFileStream(`${dir}/missing.deb`)), Deno.errors.NotFound);
    assert.throws(
      () => openFileStream(path, { chunkBytes: 0 }),
      /chunkBytes must be a positive integer/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
