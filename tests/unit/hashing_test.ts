import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import {
  digestHex,
  hashBytes,
  Hasher,
  hashStream,
  md5Hex,
  MultiHasher,
  sha1Hex,
  sha256Hex,
} from "../../lambda/hashing.ts";

Deno.test("MultiHasher gives the standard digests of abc", () => {
  const digests = hashBytes(new TextEncoder().encode("abc"), { sha512: true });
  assert.deepEqual(digests, {
    size: 3,
    md5: "900150983cd24fb0d6963f7d28e17f72",
    sha1: "a9993e364706816aba3e25717850c26c9cd0d89d",
    sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    sha512: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" +
      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  });
  assert.equal(
    hashBytes(new Uint8Array()).sha256,
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("hashStream over any chunking equals one-shot node:crypto digests", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 10 }),
      async (chunks) => {
        const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
        let at = 0;
        for (const chunk of chunks) {
          all.set(chunk, at);
          at += chunk.byteLength;
        }
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk);
            controller.close();
          },
        });
        const digests = await hashStream(stream);
        assert.equal(digests.size, all.byteLength);
        for (const name of ["md5", "sha1", "sha256"] as const) {
          assert.equal(digests[name], createHash(name).update(all).digest("hex"), name);
        }
        assert.equal(digests.sha512, undefined);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("MultiHasher refuses updates after digest and repeats its result", () => {
  const hasher = new MultiHasher();
  hasher.update(new Uint8Array([1, 2]));
  const first = hasher.digest();
  assert.equal(hasher.size, 2);
  assert.deepEqual(hasher.digest(), first);
  assert.throws(() => hasher.update(new Uint8Array([3])), /after digest/);
});

Deno.test("the one-shot helpers give the standard digests of abc", () => {
  const abc = new TextEncoder().encode("abc");
  const expected = hashBytes(abc, { sha512: true });
  assert.equal(md5Hex(abc), expected.md5);
  assert.equal(sha1Hex(abc), expected.sha1);
  assert.equal(sha256Hex(abc), expected.sha256);
  for (const name of ["md5", "sha1", "sha256", "sha512"] as const) {
    assert.equal(digestHex(name, abc), expected[name], name);
  }
});

Deno.test("Hasher over any chunking equals the one-shot digest and counts the bytes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 10 }),
      fc.constantFrom("md5", "sha1", "sha256", "sha512" as const),
      (chunks, algorithm) => {
        const hasher = new Hasher(algorithm);
        for (const chunk of chunks) hasher.update(chunk);
        const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
        let at = 0;
        for (const chunk of chunks) {
          all.set(chunk, at);
          at += chunk.byteLength;
        }
        assert.equal(hasher.size, all.byteLength);
        assert.equal(hasher.digest(), createHash(algorithm).update(all).digest("hex"));
        assert.equal(hasher.digest(), digestHex(algorithm, all), "a second call repeats it");
        assert.throws(() => hasher.update(new Uint8Array([1])), /after digest/);
      },
    ),
    { numRuns: 100 },
  );
});
