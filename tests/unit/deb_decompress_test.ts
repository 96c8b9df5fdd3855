import assert from "node:assert/strict";
import { compressionOf, decompress, DecompressionError } from "../../lambda/deb/decompress.ts";
import { pseudoRandomBytes } from "../support/deb_fixtures.ts";
import { missingTools } from "../support/tools.ts";

const TOOLS = { gzip: ["-c", "-n"], xz: ["-c", "-T1"], zstd: ["-c", "-q"] } as const;

async function compressWith(
  tool: keyof typeof TOOLS,
  input: Uint8Array,
  extra: string[] = [],
): Promise<Uint8Array> {
  const child = new Deno.Command(tool, {
    args: [...TOOLS[tool], ...extra],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output(); // read while writing: a full stdout pipe would deadlock
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const { success, stdout, stderr } = await output;
  assert.ok(success, new TextDecoder().decode(stderr));
  return stdout;
}

// Half random, half repetitive: realistic for a tar of text files.
const INPUT = new Uint8Array([
  ...pseudoRandomBytes(150_000, 7),
  ...new TextEncoder().encode("Package: kiro\nVersion: 1.0\n".repeat(5000)),
]);

for (const tool of ["gzip", "xz", "zstd"] as const) {
  Deno.test({
    name: `decompress reads what the ${tool} command writes, concatenated streams included`,
    ignore: missingTools([tool]),
    async fn() {
      const packed = await compressWith(tool, INPUT);
      assert.deepEqual(await decompress(packed, tool, { name: `x.${tool}` }), INPUT);
      const second = await compressWith(tool, new TextEncoder().encode("tail\n"));
      const both = new Uint8Array([...packed, ...second]);
      const out = await decompress(both, tool, { name: `x.${tool}` });
      assert.equal(out.byteLength, INPUT.byteLength + 5);
      assert.equal(new TextDecoder().decode(out.subarray(INPUT.byteLength)), "tail\n");
    },
  });

  Deno.test({
    name: `decompress refuses ${tool} output larger than maxBytes`,
    ignore: missingTools([tool]),
    async fn() {
      const packed = await compressWith(tool, INPUT);
      await assert.rejects(
        decompress(packed, tool, { name: `big.${tool}`, maxBytes: 100_000 }),
        (error: unknown) =>
          error instanceof DecompressionError &&
          /^big\.\w+: decompresses to more than 100000 bytes/.test(error.message),
      );
      assert.equal(
        (await decompress(packed, tool, { name: "ok", maxBytes: INPUT.byteLength })).byteLength,
        INPUT.byteLength,
      );
    },
  });

  Deno.test({
    name: `decompress reports truncated and corrupt ${tool} data`,
    ignore: missingTools([tool]),
    async fn() {
      const packed = await compressWith(tool, INPUT);
      for (
        const broken of [
          packed.subarray(0, packed.byteLength >> 1),
          new TextEncoder().encode("garbage data"),
        ]
      ) {
        await assert.rejects(
          decompress(broken, tool, { name: `bad.${tool}` }),
          (error: unknown) =>
            error instanceof DecompressionError &&
            error.message.startsWith(`bad.${tool}: cannot decompress the ${tool} data`),
        );
      }
    },
  });
}

Deno.test({
  name: "decompress reads a multi-block xz file",
  ignore: missingTools(["xz"]),
  async fn() {
    const packed = await compressWith("xz", INPUT, ["--block-size=20000"]);
    assert.deepEqual(await decompress(packed, "xz", { name: "blocks.xz" }), INPUT);
  },
});

Deno.test("decompress passes uncompressed data through, within maxBytes", async () => {
  assert.deepEqual(await decompress(INPUT, "none", { name: "x" }), INPUT);
  await assert.rejects(decompress(INPUT, "none", { name: "x", maxBytes: 10 }), DecompressionError);
});

Deno.test("compressionOf maps dpkg-deb's member suffixes", () => {
  assert.equal(compressionOf("control.tar", "control.tar"), "none");
  assert.equal(compressionOf("control.tar.gz", "control.tar"), "gzip");
  assert.equal(compressionOf("control.tar.xz", "control.tar"), "xz");
  assert.equal(compressionOf("control.tar.zst", "control.tar"), "zstd");
  assert.equal(compressionOf("control.tar.bz2", "control.tar"), undefined);
  assert.equal(compressionOf("control.tar.constructor", "control.tar"), undefined);
  assert.equal(compressionOf("data.tar.gz", "control.tar"), undefined);
});
