import assert from "node:assert/strict";
import { DebRefusedError } from "../../lambda/deb/door.ts";
import { buildDeb, gzip } from "../../tasks/lib/deb_writer.ts";
import {
  PoolControlError,
  poolControlReader,
  readControlFromStream,
} from "../../tasks/migration/pool_control.ts";
import { pseudoRandomBytes, withDataMember } from "../support/deb_fixtures.ts";

const control = {
  Package: "kiro",
  Version: "0.2.13",
  Architecture: "amd64",
  Maintainer: "Kiro Team <support@kiro.dev>",
  Depends: "libgtk-3-0, libnss3",
  Section: "editors",
  Priority: "optional",
  Homepage: "https://kiro.dev",
  Description: "Kiro IDE - AI-powered development environment\n An editor with agents.",
};

/** A stream of `bytes` in `chunk`-sized pieces that counts how many were pulled. */
function countingStream(bytes: Uint8Array, chunk: number) {
  let pulled = 0;
  let offset = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
      pulled++;
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => pulled, cancelled: () => cancelled };
}

Deno.test("the control paragraph is read from the head of a .deb and the rest is not downloaded", async () => {
  const deb = buildDeb({
    control,
    files: [{ path: "/usr/share/kiro/blob", data: pseudoRandomBytes(4 * 1024 * 1024, 2463534242) }],
    mtime: 1_750_000_000,
  });
  assert.ok(deb.byteLength > 4 * 1024 * 1024);
  const source = countingStream(deb, 64 * 1024);
  const read = await readControlFromStream(source.stream, { name: "kiro.deb" });
  assert.equal(read.Package, "kiro");
  assert.equal(read.Depends, "libgtk-3-0, libnss3");
  assert.equal(read.Description, control.Description);
  assert.match(read["Installed-Size"] ?? "", /^\d+$/);
  assert.ok(source.pulled() <= 3, `pulled ${source.pulled()} chunks of 64 KiB`);
  assert.equal(source.cancelled(), true);
});

Deno.test("a file that is not a .deb is refused with its key named", async () => {
  const source = countingStream(new TextEncoder().encode("<html>not found</html>"), 1024);
  await assert.rejects(
    readControlFromStream(source.stream, { name: "pool/main/k/kiro/x.deb" }),
    (error: unknown) =>
      error instanceof PoolControlError && error.message.includes("pool/main/k/kiro/x.deb") &&
      error.message.includes("not an ar archive"),
  );
});

Deno.test("the pool reader opens each key once and says when an object is missing", async () => {
  const deb = buildDeb({ control, files: [], mtime: 1_750_000_000 });
  const opened: string[] = [];
  const read = poolControlReader((key) => {
    opened.push(key);
    if (key !== "pool/main/k/kiro/a.deb") return Promise.resolve(undefined);
    return Promise.resolve(countingStream(deb, 1024).stream);
  });
  assert.equal((await read("pool/main/k/kiro/a.deb")).Version, "0.2.13");
  assert.equal((await read("pool/main/k/kiro/a.deb")).Version, "0.2.13");
  await assert.rejects(read("pool/main/k/kiro/b.deb"), /b\.deb is not in the bucket/);
  assert.deepEqual(opened, ["pool/main/k/kiro/a.deb", "pool/main/k/kiro/b.deb"]);
});

Deno.test("the migration's pool read passes the door: an empty data member or an unpublished architecture is refused", async () => {
  const emptyData = await withDataMember(
    buildDeb({ control, files: [], mtime: 1_750_000_000 }),
    { name: "data.tar.gz", data: gzip(new Uint8Array(10240)) },
  );
  await assert.rejects(
    readControlFromStream(countingStream(emptyData, 1024).stream, { name: "pool/x.deb" }),
    (error: unknown) =>
      error instanceof PoolControlError && error.cause instanceof DebRefusedError &&
      /^pool\/x\.deb: its data member data\.tar\.gz is an empty tar archive/.test(error.message),
  );
  const s390x = buildDeb({ control: { ...control, Architecture: "s390x" }, files: [], mtime: 0 });
  await assert.rejects(
    readControlFromStream(countingStream(s390x, 1024).stream, { name: "pool/y.deb" }),
    (error: unknown) =>
      error instanceof PoolControlError && /"s390x" is not one/.test(error.message),
  );
  const read = await readControlFromStream(countingStream(s390x, 1024).stream, {
    name: "pool/y.deb",
    architectures: ["amd64", "s390x"],
  });
  assert.equal(read.Architecture, "s390x");
});
