import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AR_MAGIC, arHeader, readArMembers } from "../../lambda/deb/ar.ts";
import { readDeb } from "../../lambda/deb/deb_reader.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";

const MiB = 1024 * 1024;
const DATA_SIZE = 256 * MiB;
const CHUNK = 256 * 1024;

/**
 * A .deb of more than 256 MiB produced lazily, chunk by chunk: the small members
 * of a real fixture, then a data.tar.xz member whose bytes are generated on demand.
 * Also computes the expected digests (node:crypto directly) and samples RSS.
 */
async function hugeDeb() {
  const small = await makeTestDeb({ name: "kiro", version: "1.0.337", architecture: "amd64" });
  // Keep debian-binary and control.tar.gz from the fixture, replace data.tar.gz.
  const head: Uint8Array[] = [AR_MAGIC];
  for await (const member of readArMembers([small], { name: "fixture" })) {
    if (member.name === "data.tar.gz") break;
    const parts: Uint8Array[] = [];
    for await (const slice of member.body()) parts.push(slice.slice());
    head.push(arHeader(member.name, member.size, { mtime: 0 }), ...parts);
    if (member.size % 2 === 1) head.push(new Uint8Array([0x0a]));
  }
  head.push(arHeader("data.tar.xz", DATA_SIZE, { mtime: 0 }));
  const expected = ["md5", "sha1", "sha256"].map((name) => createHash(name));
  let size = 0;
  let produced = 0;
  const samples = new Map<number, number>();
  let seed = 0x9e3779b9;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      let chunk: Uint8Array | undefined = head.shift();
      if (chunk === undefined) {
        if (produced >= DATA_SIZE) return controller.close();
        chunk = new Uint8Array(Math.min(CHUNK, DATA_SIZE - produced));
        const words = new Uint32Array(chunk.buffer, 0, chunk.byteLength >>> 2);
        for (let i = 0; i < words.length; i += 64) {
          seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
          words[i] = seed;
        }
        produced += chunk.byteLength;
      }
      for (const hash of expected) hash.update(chunk);
      size += chunk.byteLength;
      if (produced % (16 * MiB) === 0) samples.set(produced / MiB, Deno.memoryUsage().rss);
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 1 });
  return {
    stream,
    expected: () => ({
      size,
      md5: expected[0]!.digest("hex"),
      sha1: expected[1]!.digest("hex"),
      sha256: expected[2]!.digest("hex"),
    }),
    /** RSS by MiB of data produced, every 16 MiB. */
    samples,
  };
}

/** What the child process measured (its RSS is its own: `deno test --parallel` shares one). */
interface Measured {
  info: {
    version: string;
    dataMember: string;
    size: number;
    md5: string;
    sha1: string;
    sha256: string;
  };
  expected: { size: number; md5: string; sha1: string; sha256: string };
  before: number;
  samples: [number, number][];
}

async function measure(): Promise<Measured> {
  const deb = await hugeDeb();
  const before = Deno.memoryUsage().rss;
  const info = await readDeb(deb.stream, { name: "kiro_1.0.337_amd64.deb" });
  return {
    info: {
      version: info.control.Version ?? "",
      dataMember: info.dataMember,
      size: info.size,
      md5: info.md5,
      sha1: info.sha1,
      sha256: info.sha256,
    },
    expected: deb.expected(),
    before,
    samples: [...deb.samples],
  };
}

if (import.meta.main && Deno.args[0] === "--child") {
  console.log(JSON.stringify(await measure()));
}

Deno.test("readDeb streams a 256 MiB .deb with flat memory and hashes every byte", async () => {
  // Measured in a process of its own, so that other test files' memory is not counted.
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--child"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const { info, expected, before, samples: sampleList } = JSON.parse(
    new TextDecoder().decode(stdout),
  ) as Measured;
  const samples = new Map(sampleList);
  assert.equal(info.version, "1.0.337");
  assert.equal(info.dataMember, "data.tar.xz");
  assert.ok(expected.size > DATA_SIZE);
  assert.deepEqual(
    { size: info.size, md5: info.md5, sha1: info.sha1, sha256: info.sha256 },
    expected,
  );
  // V8 lets garbage chunks pile up to its GC threshold (about 64 MiB here), then RSS is
  // flat. Buffering the data member would add 160 MiB between the 96 MiB mark and the end.
  const at96 = samples.get(96) as number;
  const peak = Math.max(...samples.values());
  const peakAfter96 = Math.max(...[...samples].filter(([mib]) => mib >= 96).map(([, rss]) => rss));
  const shown = [...samples].map(([mib, rss]) => `${mib}:${Math.round(rss / MiB)}`).join(" ");
  assert.ok(
    peakAfter96 - at96 < 40 * MiB,
    `RSS kept growing after 96 MiB streamed (MiB:RSS ${shown})`,
  );
  assert.ok(
    peak - before < 128 * MiB,
    `RSS grew by ${Math.round((peak - before) / MiB)} MiB (${shown})`,
  );
});
