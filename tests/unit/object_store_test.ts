import assert from "node:assert/strict";
import {
  InjectedFault,
  InstrumentedObjectStore,
  MemoryObjectStore,
} from "../support/memory_object_store.ts";
import { encodeKey } from "../../lambda/aws/object_store.ts";
import { sha256Hex } from "../../lambda/hashing.ts";

const text = (s: string) => new TextEncoder().encode(s);
const opts = { contentType: "text/plain", cacheControl: "max-age=60" };

Deno.test("the memory store keeps bytes, headers and the content SHA-256 in metadata", async () => {
  const store = new MemoryObjectStore();
  await store.put("a/b", text("hello"), opts);
  const head = await store.head("a/b");
  assert.equal(head?.size, 5);
  assert.equal(head?.sha256, sha256Hex(text("hello")));
  assert.equal(head?.contentType, "text/plain");
  assert.equal(head?.cacheControl, "max-age=60");
  assert.deepEqual(await store.get("a/b"), text("hello"));
  assert.equal(await store.head("missing"), undefined);
  assert.equal(await store.get("missing"), undefined);
});

Deno.test("a streamed body without a given hash has no sha256 metadata", async () => {
  const store = new MemoryObjectStore();
  await store.put("s", new Blob([text("streamed")]).stream(), opts);
  assert.equal((await store.head("s"))?.sha256, undefined);
  assert.deepEqual(await store.get("s"), text("streamed"));
  await store.put("t", new Blob([text("streamed")]).stream(), { ...opts, sha256: "ab" });
  assert.equal((await store.head("t"))?.sha256, "ab");
});

Deno.test("the memory store lists by prefix in key order and copies as a regular object", async () => {
  const store = new MemoryObjectStore();
  for (const key of ["p/2", "p/1", "q/1", "p/3"]) await store.put(key, text(key), opts);
  const keys: string[] = [];
  for await (const item of store.list("p/")) keys.push(item.key);
  assert.deepEqual(keys, ["p/1", "p/2", "p/3"]);
  await store.copy("p/1", "copy", { contentType: "x/y", cacheControl: "no-cache", sha256: "s" });
  const copy = store.objects.get("copy");
  assert.deepEqual(copy?.bytes, text("p/1"));
  assert.equal(copy?.contentType, "x/y");
  await assert.rejects(() => store.copy("nope", "x", opts), /no such object/);
  await store.delete("p/1");
  await store.delete("p/1");
  assert.equal(await store.head("p/1"), undefined);
});

Deno.test("the instrumented store records writes and refuses every write after the k-th", async () => {
  const inner = new MemoryObjectStore();
  const store = new InstrumentedObjectStore(inner, { failAfterWrites: 2 });
  await store.put("a", text("a"), opts);
  await store.copy("a", "b", opts);
  await assert.rejects(() => store.put("c", text("c"), opts), InjectedFault);
  await assert.rejects(() => store.delete("a"), InjectedFault);
  assert.deepEqual(store.writes.map((w) => `${w.operation} ${w.key}`), ["put a", "copy b"]);
  assert.deepEqual([...inner.objects.keys()].sort(), ["a", "b"]);
  await store.head("a");
  await store.get("a");
  assert.deepEqual(store.reads, { head: 1, get: 1, list: 0 });
  store.failAfterWrites(undefined);
  await store.delete("a");
  assert.equal(inner.objects.has("a"), false);
});

Deno.test("copy sources are URL-encoded segment by segment", () => {
  assert.equal(
    encodeKey("pool/main/k/kiro/kiro_1:2.0~rc+1_all.deb"),
    "pool/main/k/kiro/kiro_1%3A2.0~rc%2B1_all.deb",
  );
  assert.equal(encodeKey("pool/a b:c+d", "uri"), "pool/a%20b:c+d");
});

Deno.test("read streams an object's bytes, or undefined when there is none", async () => {
  const store = new InstrumentedObjectStore(new MemoryObjectStore());
  await store.put("k", text("streamed bytes"), opts);
  const stream = await store.read("k");
  assert.ok(stream !== undefined);
  assert.equal(await new Response(stream).text(), "streamed bytes");
  assert.equal(await store.read("missing"), undefined);
  assert.deepEqual(store.gets, ["k", "missing"]);
});
