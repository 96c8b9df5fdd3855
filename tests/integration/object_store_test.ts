import assert from "node:assert/strict";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "../../lambda/aws/object_store.ts";
import { sha256Hex } from "../../lambda/hashing.ts";
import { startTestStack } from "../support/stack.ts";

const opts = { contentType: "text/plain; charset=utf-8", cacheControl: "public, max-age=60" };

Deno.test("the S3 store writes, reads, lists page by page, copies and deletes on the stand-in", async () => {
  const stack = await startTestStack();
  try {
    const store = new S3ObjectStore(stack.clients.s3, stack.outputs.bucketName, {
      pageSize: 3,
      copySourceEncoding: "uri",
    });
    const keys = ["a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "b/1"];
    for (const key of keys) await store.put(key, new TextEncoder().encode(key), opts);
    const listed: string[] = [];
    for await (const item of store.list("a/")) listed.push(item.key);
    assert.deepEqual(listed, keys.filter((k) => k.startsWith("a/")));

    // apt asks for %3a, %7e, %2b: the keys are kept literally.
    const special = "pool/main/k/kiro/kiro_1:2.0~rc1+b1_all.deb";
    const bytes = new TextEncoder().encode("deb bytes");
    await store.put(special, bytes, {
      ...opts,
      contentType: "application/vnd.debian.binary-package",
    });
    const head = await store.head(special);
    assert.equal(head?.size, bytes.byteLength);
    assert.equal(head?.sha256, sha256Hex(bytes));
    assert.equal(head?.contentType, "application/vnd.debian.binary-package");
    assert.equal(head?.cacheControl, opts.cacheControl);
    const served = await fetch(
      `${stack.outputs.repoUrl}/pool/main/k/kiro/kiro_1%3a2.0%7erc1%2bb1_all.deb`,
    );
    assert.equal(served.status, 200);
    assert.deepEqual(new Uint8Array(await served.arrayBuffer()), bytes);

    await store.copy(special, "kiro-repo.deb", {
      contentType: "application/vnd.debian.binary-package",
      cacheControl: "public, max-age=60",
      sha256: sha256Hex(bytes),
    });
    assert.deepEqual(await store.get("kiro-repo.deb"), bytes);
    assert.equal((await store.head("kiro-repo.deb"))?.sha256, sha256Hex(bytes));
    assert.equal((await store.head("kiro-repo.deb"))?.cacheControl, "public, max-age=60");

    assert.equal(await store.head("nope"), undefined);
    assert.equal(await store.get("nope"), undefined);
    await store.delete("a/1");
    await store.delete("a/1");
    assert.equal(await store.head("a/1"), undefined);
  } finally {
    await stack.close();
  }
});

Deno.test("a large streamed body goes up in parts and keeps the given SHA-256", async () => {
  const stack = await startTestStack();
  try {
    const store = new S3ObjectStore(stack.clients.s3, stack.outputs.bucketName, {
      partSize: 5 * 1024 * 1024,
    });
    const size = 11 * 1024 * 1024 + 17;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= size) return controller.close();
        const end = Math.min(size, offset + 1024 * 1024);
        controller.enqueue(bytes.slice(offset, end));
        offset = end;
      },
    });
    await store.put("big.deb", stream, { ...opts, sha256: sha256Hex(bytes) });
    const head = await store.head("big.deb");
    assert.equal(head?.size, size);
    assert.equal(head?.sha256, sha256Hex(bytes));
    assert.equal(sha256Hex((await store.get("big.deb"))!), sha256Hex(bytes));
  } finally {
    await stack.close();
  }
});

Deno.test("the S3 store streams an object back", async () => {
  const stack = await startTestStack();
  try {
    const store = new S3ObjectStore(stack.clients.s3, stack.outputs.bucketName);
    await store.put("s/k", new TextEncoder().encode("over the wire"), opts);
    const stream = await store.read("s/k");
    assert.ok(stream !== undefined);
    assert.equal(await new Response(stream).text(), "over the wire");
    assert.equal(await store.read("s/none"), undefined);
  } finally {
    await stack.close();
  }
});

Deno.test("copyFrom copies an object of another bucket server-side, with this store's headers", async () => {
  const stack = await startTestStack();
  try {
    await stack.clients.s3.send(new CreateBucketCommand({ Bucket: "kiro-other-environment" }));
    const other = new S3ObjectStore(stack.clients.s3, "kiro-other-environment", {
      copySourceEncoding: "uri",
    });
    const store = new S3ObjectStore(stack.clients.s3, stack.outputs.bucketName, {
      copySourceEncoding: "uri",
    });
    const key = "pool/main/k/kiro/kiro_1:2.0~rc1_amd64.deb";
    const bytes = new TextEncoder().encode("the dev build");
    await other.put(key, bytes, { ...opts, contentType: "application/octet-stream" });
    await store.copyFrom({ bucket: "kiro-other-environment", key }, "staging/promote/x.deb", {
      contentType: "application/vnd.debian.binary-package",
      cacheControl: "no-store",
      sha256: sha256Hex(bytes),
    });
    assert.deepEqual(await store.get("staging/promote/x.deb"), bytes);
    const head = await store.head("staging/promote/x.deb");
    assert.equal(head?.contentType, "application/vnd.debian.binary-package");
    assert.equal(head?.sha256, sha256Hex(bytes));
    await assert.rejects(
      store.copyFrom({ bucket: "kiro-other-environment", key: "missing" }, "y", opts),
      /Cannot copy s3:\/\/kiro-other-environment\/missing to s3:\/\/.*\/y: /,
    );
  } finally {
    await stack.close();
  }
});
