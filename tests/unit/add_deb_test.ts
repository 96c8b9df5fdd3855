import assert from "node:assert/strict";
import { addDeb } from "../../tasks/lifecycle/add_deb.ts";
import { RecordConflictError } from "../../lambda/store/package_store.ts";
import { DebRefusedError } from "../../lambda/deb/door.ts";
import {
  InjectedFault,
  InstrumentedObjectStore,
  MemoryObjectStore,
} from "../support/memory_object_store.ts";
import { sha256Hex } from "../../lambda/hashing.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { MemoryRecords } from "../support/publish_fixtures.ts";

function source(name: string, bytes: Uint8Array) {
  return {
    name,
    url: `file:///tmp/${name}`,
    open: () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      }),
  };
}

Deno.test("add-deb uploads to the pool key with its hash, and records an upload", async () => {
  const objects = new MemoryObjectStore();
  const records = new MemoryRecords();
  const bytes = await makeTestDeb({
    name: "kiro-cli",
    version: "1:2.0~rc1",
    architecture: "arm64",
    depends: "libc6 (>= 2.34)",
  });
  const { record, outcome } = await addDeb(source("cli.deb", bytes), { objects, records });
  assert.equal(outcome, "created");
  assert.equal(record.pool_key, "pool/main/k/kiro-cli/kiro-cli_1:2.0~rc1_arm64.deb");
  assert.equal(record.package_type, "upload");
  assert.equal(record.sha256_hash, sha256Hex(bytes));
  assert.equal(record.file_size, bytes.byteLength);
  assert.equal(record.depends, "libc6 (>= 2.34)");
  assert.equal(record.control.Package, "kiro-cli");
  const pooled = objects.objects.get(record.pool_key);
  assert.deepEqual(pooled?.bytes, bytes);
  assert.equal(pooled?.metadata.sha256, sha256Hex(bytes));
  assert.equal(pooled?.cacheControl, "public, max-age=31536000, immutable");
  // The temporary upload is gone.
  assert.deepEqual([...objects.objects.keys()], [record.pool_key]);
});

Deno.test("the same bytes twice are a no-op; other bytes for a recorded version are refused", async () => {
  const objects = new InstrumentedObjectStore(new MemoryObjectStore());
  const records = new MemoryRecords();
  const bytes = await makeTestDeb({ name: "tool", version: "1.0", architecture: "all" });
  await addDeb(source("a.deb", bytes), { objects, records });
  const writes = objects.writes.length;
  const again = await addDeb(source("b.deb", bytes), { objects, records });
  assert.equal(again.outcome, "unchanged");
  assert.equal(objects.writes.length, writes, "nothing was written");
  const other = await makeTestDeb({
    name: "tool",
    version: "1.0",
    architecture: "all",
    description: "Other\n bytes",
  });
  await assert.rejects(
    () => addDeb(source("c.deb", other), { objects, records }),
    (error: unknown) =>
      error instanceof RecordConflictError &&
      /tool 1\.0 \(all\) is already recorded .* immutable/.test(error.message),
  );
  assert.equal(objects.writes.length, writes);
});

Deno.test("a file that changes while it is added is refused and leaves nothing behind", async () => {
  const memory = new MemoryObjectStore();
  const records = new MemoryRecords();
  const first = await makeTestDeb({ name: "flaky", version: "1", architecture: "amd64" });
  const second = first.slice();
  second[second.length - 1] = second[second.length - 1]! ^ 1;
  let opened = 0;
  const changing = {
    name: "flaky.deb",
    url: "file:///tmp/flaky.deb",
    open: () => source("x", opened++ === 0 ? first : second).open(),
  };
  await assert.rejects(
    () => addDeb(changing, { objects: memory, records }),
    /the file changed while it was read/,
  );
  assert.deepEqual([...memory.objects.keys()], []);
  assert.deepEqual(await records.listAll(), []);
});

Deno.test("a failed upload records nothing", async () => {
  const objects = new InstrumentedObjectStore(new MemoryObjectStore(), { failAfterWrites: 1 });
  const records = new MemoryRecords();
  const bytes = await makeTestDeb({ name: "tool", version: "2", architecture: "amd64" });
  await assert.rejects(() => addDeb(source("t.deb", bytes), { objects, records }), InjectedFault);
  assert.deepEqual(await records.listAll(), []);
});

Deno.test("add-deb of an architecture the repository does not publish writes nothing", async () => {
  const objects = new InstrumentedObjectStore(new MemoryObjectStore());
  const records = new MemoryRecords();
  for (const architecture of ["s390x", "source"]) {
    const bytes = await makeTestDeb({ name: "tool", version: "1.0", architecture });
    await assert.rejects(
      addDeb(source(`tool_${architecture}.deb`, bytes), { objects, records }),
      (error) => error instanceof DebRefusedError && error.field === "Architecture",
    );
  }
  assert.deepEqual(objects.writes, [], "no object was written");
  assert.equal(records.records.size, 0, "no record, so no index names the architecture");
});
