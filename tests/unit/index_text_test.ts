import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { gzip } from "../../lambda/repo/compress.ts";
import { GZIP_SLICE } from "../../lambda/repo/gzip_stream.ts";
import { IndexText } from "../../lambda/repo/index_text.ts";
import { hashBytes } from "../../lambda/hashing.ts";

const encoder = new TextEncoder();

/** Pieces repeated until the text is at least `size` UTF-16 units long. */
function pieces(fragments: readonly string[], size: number): string[] {
  const out: string[] = [];
  let length = 0;
  for (let i = 0; length < size && fragments.length > 0; i++) {
    const piece = fragments[i % fragments.length]!;
    out.push(piece);
    length += piece.length;
  }
  return out;
}

Deno.test("an index text is the UTF-8 of what was added, with its digests, across slab boundaries", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: "binary", minLength: 1, maxLength: 3000 }), {
        minLength: 1,
        maxLength: 40,
      }),
      fc.integer({ min: 0, max: 3 * GZIP_SLICE }),
      (fragments, size) => {
        const added = pieces(fragments, size);
        const text = new IndexText();
        for (const piece of added) text.add(piece);
        const { bytes, digests, gz } = text.finish();
        const expected = encoder.encode(added.join(""));
        assert.ok(Buffer.from(expected).equals(bytes), "bytes differ from the UTF-8 of the pieces");
        assert.deepEqual(digests, hashBytes(expected));
        assert.equal(gz, undefined);
        assert.equal(bytes.byteLength, bytes.buffer.byteLength);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("a character whose bytes straddle two slabs is written whole", () => {
  for (const char of ["é", "€", "😀"]) {
    const bytesOfChar = encoder.encode(char).length;
    for (let shift = 1; shift < bytesOfChar; shift++) {
      const text = new IndexText();
      const before = "a".repeat(GZIP_SLICE - shift);
      text.add(before);
      text.add(char + "z");
      assert.deepEqual(
        text.finish().bytes,
        encoder.encode(before + char + "z"),
        `${char} ${shift}`,
      );
    }
  }
});

Deno.test("a large index text is gzipped while written, to the bytes of gzip(), and a short one is not", async () => {
  const stanza = "Package: kiro\nVersion: 1.0\nDescription: é 😀\n continued\n\n";
  for (const count of [10, Math.ceil((2.5 * GZIP_SLICE) / stanza.length)]) {
    const text = new IndexText({ gzipLevel: 6 });
    assert.equal(text.compressing, true);
    for (let i = 0; i < count; i++) text.add(stanza);
    const { bytes, gz } = text.finish();
    if (bytes.length < GZIP_SLICE) {
      assert.equal(gz, undefined);
      continue;
    }
    assert.ok(gz !== undefined);
    const out = await gz;
    assert.deepEqual(new Uint8Array(gunzipSync(out)), bytes);
    assert.deepEqual(out, await gzip(bytes, { sha256: "index-text-test" }));
  }
});

Deno.test("an aborted index text stops its compression", async () => {
  const text = new IndexText({ gzipLevel: 6 });
  text.add("x".repeat(GZIP_SLICE + 10));
  text.abort();
  await new Promise((resolve) => setTimeout(resolve, 50));
});
