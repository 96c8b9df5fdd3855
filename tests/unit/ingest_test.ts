import assert from "node:assert/strict";
import fc from "fast-check";
import { InstrumentedObjectStore, MemoryObjectStore } from "../support/memory_object_store.ts";
import { checkCertificate, SignatureVerifier } from "../../lambda/sources/certificate.ts";
import { parsePackageConfigs } from "../../lambda/sources/config.ts";
import { checkControl, ingestDeb } from "../../lambda/sources/ingest.ts";
import { fanOut } from "../../lambda/sources/stream_fanout.ts";
import { makeTestDeb, pseudoRandomBytes } from "../support/deb_fixtures.ts";
import { FeedServer, makeSigningIdentity, signWithOpenssl } from "../support/feed_server.ts";
import { MemoryRecords } from "../support/publish_fixtures.ts";
import { missingTools } from "../support/tools.ts";

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** A source that counts how many chunks were pulled from it. */
function countingSource(chunks: Uint8Array[]) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[state.pulled];
      if (next === undefined) controller.close();
      else {
        state.pulled++;
        controller.enqueue(next);
      }
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

Deno.test("property: every branch of the fan-out sees every chunk, in order", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 30 }),
      fc.integer({ min: 1, max: 4 }),
      async (chunks, count) => {
        const { branches } = fanOut(countingSource(chunks).stream, count);
        const seen = await Promise.all(branches.map(collect));
        for (const branch of seen) assert.deepEqual(branch, chunks);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("a branch that does not read holds the source back: nothing queues up without bound", async () => {
  const chunks = Array.from({ length: 1000 }, (_, i) => new Uint8Array([i & 0xff]));
  const { stream, state } = countingSource(chunks);
  const [fast, slow] = fanOut(stream, 2).branches as [
    ReadableStream<Uint8Array>,
    ReadableStream<Uint8Array>,
  ];
  // The fast branch reads as fast as it can; the slow one does not read yet.
  // (ReadableStream.prototype.tee would pull all 1000 chunks here.)
  const fastChunks = collect(fast);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(state.pulled <= 3, `pulled ${state.pulled} chunks while one branch was idle`);
  const slowChunks = collect(slow);
  assert.equal((await fastChunks).length, 1000);
  assert.equal((await slowChunks).length, 1000);
  assert.equal(state.pulled, 1000);
});

Deno.test("cancelling one branch lets the others finish; cancelling all cancels the source", async () => {
  const chunks = Array.from({ length: 50 }, () => new Uint8Array(10));
  const { branches } = fanOut(countingSource(chunks).stream, 3);
  await branches[0]!.cancel("not needed");
  const [b, c] = await Promise.all([collect(branches[1]!), collect(branches[2]!)]);
  assert.equal(b.length, 50);
  assert.equal(c.length, 50);

  let cancelled: unknown;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new Uint8Array(1));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const all = fanOut(source, 2).branches;
  await all[0]!.cancel("a");
  await all[1]!.cancel("b");
  assert.equal(cancelled, "b");
});

Deno.test("abort errors every branch and cancels the source; a source error reaches every branch", async () => {
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new Uint8Array(1));
    },
  });
  const split = fanOut(source, 2);
  const reading = split.branches.map((branch) => collect(branch));
  await split.abort(new Error("stop"));
  for (const result of await Promise.allSettled(reading)) {
    assert.equal(result.status, "rejected");
  }
  const failing = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(1));
      controller.error(new Error("network down"));
    },
  });
  const results = await Promise.allSettled(fanOut(failing, 2).branches.map(collect));
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.match(String((result as PromiseRejectedResult).reason), /network down/);
  }
});

Deno.test("the control paragraph must name the configured package, the feed's version and the configured architecture", () => {
  const config = parsePackageConfigs([{
    path: "config/packages/kiro.yaml",
    text: Deno.readTextFileSync("config/packages/kiro.yaml"),
  }])[0]!.config;
  const release = { version: "1.0", deb_url: "https://x/kiro.deb" };
  checkControl({ Package: "kiro", Version: "1.0", Architecture: "amd64" }, { config, release });
  assert.throws(
    () =>
      checkControl({ Package: "kiro-ide", Version: "1.0", Architecture: "amd64" }, {
        config,
        release,
      }),
    /has Package "kiro-ide" but the config says "kiro"/,
  );
  assert.throws(
    () =>
      checkControl({ Package: "kiro", Version: "1.0-1", Architecture: "amd64" }, {
        config,
        release,
      }),
    /has Version "1\.0-1" but the feed says "1\.0"/,
  );
  assert.throws(
    () => checkControl({ Package: "kiro", Version: "1.0" }, { config, release }),
    /has Architecture \(missing\)/,
  );
});

Deno.test({
  name:
    "the pool key is written only by one copy after every check passed, and never when a check fails",
  ignore: missingTools(["openssl"]),
  async fn() {
    const server = FeedServer.start();
    const identity = await makeSigningIdentity({ type: "ec" });
    try {
      const config = parsePackageConfigs([{
        path: "config/packages/kiro.yaml",
        text: Deno.readTextFileSync("config/packages/kiro.yaml"),
      }])[0]!.config;
      const deb = await makeTestDeb({
        name: "kiro",
        version: "5.0",
        architecture: "amd64",
        payloadSize: 300_000,
      });
      const urls = await server.addRelease({ version: "5.0", deb, identity });
      const certificate = checkCertificate(identity.certificatePem, { url: urls.certificateUrl });
      const good = await signWithOpenssl(deb, identity);
      const run = (signature: Uint8Array) => {
        const objects = new InstrumentedObjectStore(new MemoryObjectStore());
        const records = new MemoryRecords();
        const result = ingestDeb({
          config,
          release: { version: "5.0", deb_url: urls.debUrl, pub_date: "2026-11-01" },
          checks: {
            signature: new SignatureVerifier(certificate, signature, { what: "kiro 5.0" }),
          },
        }, { objects, records });
        return { result, objects, records };
      };

      const bad = run(await signWithOpenssl(pseudoRandomBytes(10, 1), identity));
      await assert.rejects(bad.result, /does not match its certificate/);
      assert.deepEqual(
        bad.objects.writes.filter((w) => w.key.startsWith("pool/")),
        [],
        "no write ever touched the pool",
      );
      assert.equal(bad.records.records.size, 0);
      const leftovers = [];
      for await (const item of bad.objects.list("")) leftovers.push(item.key);
      assert.deepEqual(leftovers, []);

      const ok = run(good);
      const { record } = await ok.result;
      const operations = ok.objects.writes.map((w) => `${w.operation} ${w.key.split("/")[0]}`);
      assert.deepEqual(operations, ["put staging", "copy pool", "delete staging"]);
      assert.equal(ok.objects.writes[1]!.key, "pool/main/k/kiro/kiro_5.0_amd64.deb");
      assert.deepEqual(
        await ok.records.get({ package_name: "kiro", version: "5.0", architecture: "amd64" }),
        record,
      );
      assert.deepEqual(await ok.objects.get(record.pool_key), deb);
      assert.equal(record.pub_date, "2026-11-01");
    } finally {
      await server.close();
      await identity.remove();
    }
  },
});
