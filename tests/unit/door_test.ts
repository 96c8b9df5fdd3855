import assert from "node:assert/strict";
import { readDebBytes } from "../../lambda/deb/deb_reader.ts";
import { admitDeb, DebRefusedError, DOOR_LIMITS } from "../../lambda/deb/door.ts";
import { writeTar } from "../../lambda/deb/tar.ts";
import { gzip } from "../../tasks/lib/deb_writer.ts";
import { compressWith, makeTestDeb, withDataMember } from "../support/deb_fixtures.ts";

const NAME = "tool_1.0_amd64.deb";

async function refusal(
  bytes: Uint8Array,
  options: { architectures?: readonly string[] } = {},
): Promise<DebRefusedError> {
  const deb = await readDebBytes(bytes, { name: NAME });
  try {
    admitDeb(deb, { name: NAME, architectures: options.architectures });
  } catch (error) {
    assert.ok(error instanceof DebRefusedError, `expected DebRefusedError, got ${error}`);
    assert.ok(error.message.startsWith(`${NAME}: `), error.message);
    assert.doesNotMatch(error.message, /\.$/);
    return error;
  }
  return assert.fail("the door let the .deb in");
}

const EMPTY_TAR = new Uint8Array(10240);
const ONE_DIRECTORY = writeTar([{ path: "./", type: "directory", mode: 0o755 }], { mtime: 0 });

Deno.test("the door lets in a well-formed .deb of a published architecture", async () => {
  for (const architecture of ["amd64", "arm64", "all"]) {
    const deb = await readDebBytes(
      await makeTestDeb({ name: "tool", version: "1.0", architecture }),
      { name: NAME },
    );
    admitDeb(deb, { name: NAME });
  }
});

Deno.test("the door refuses a .deb whose data member is an empty tar archive", async () => {
  const base = await makeTestDeb({ name: "tool", version: "1.0", architecture: "amd64" });
  for (
    const member of [
      { name: "data.tar.gz", data: gzip(EMPTY_TAR) },
      { name: "data.tar.xz", data: await compressWith("xz", ["-c"], EMPTY_TAR) },
      { name: "data.tar.zst", data: await compressWith("zstd", ["-c", "-q"], EMPTY_TAR) },
      { name: "data.tar", data: EMPTY_TAR },
    ]
  ) {
    const error = await refusal(await withDataMember(base, member));
    assert.equal(error.field, "data");
    assert.match(error.message, new RegExp(`data member ${member.name} is an empty tar archive`));
  }
});

Deno.test("the door refuses a .deb whose data member is not a tar archive", async () => {
  const base = await makeTestDeb({ name: "tool", version: "1.0", architecture: "amd64" });
  const text = new TextEncoder().encode("this is not a tar archive\n".repeat(40));
  for (
    const [member, pattern] of [
      [{ name: "data.tar.gz", data: gzip(text) }, /checksum does not match/],
      [{ name: "data.tar.xz", data: gzip(ONE_DIRECTORY) }, /cannot be read/],
      [{ name: "data.tar.gz", data: new Uint8Array(0) }, /less than one 512-byte header/],
      [{ name: "data.tar.bz2", data: text }, /compression kiro cannot read/],
    ] as const
  ) {
    const error = await refusal(await withDataMember(base, member));
    assert.equal(error.field, "data");
    assert.match(error.message, pattern);
  }
});

Deno.test("the door refuses Architecture: source even when it is listed", async () => {
  const error = await refusal(
    await makeTestDeb({ name: "tool", version: "1.0", architecture: "source" }),
    { architectures: ["amd64", "source"] },
  );
  assert.equal(error.field, "Architecture");
  assert.match(error.message, /Architecture is "source": the repository publishes binary packages/);
});

Deno.test("the door refuses an architecture the repository does not publish, naming the setting", async () => {
  const bytes = await makeTestDeb({ name: "tool", version: "1.0", architecture: "s390x" });
  const error = await refusal(bytes);
  assert.equal(error.field, "Architecture");
  assert.match(
    error.message,
    /Architecture "s390x" is not one this repository publishes \(amd64, arm64, all\); add it to the stack setting "architectures"/,
  );
  // Configured, it is let in.
  admitDeb(await readDebBytes(bytes, { name: NAME }), { name: NAME, architectures: ["s390x"] });
});

Deno.test("the door refuses a 300-character version, naming the limit", async () => {
  const error = await refusal(
    await makeTestDeb({ name: "tool", version: `1.${"0".repeat(298)}`, architecture: "amd64" }),
  );
  assert.equal(error.field, "Version");
  assert.match(
    error.message,
    new RegExp(`Version is 300 bytes long, over the limit of ${DOOR_LIMITS.versionBytes} bytes`),
  );
});

Deno.test("the door refuses a name and version whose pool file name apt could not save", async () => {
  const error = await refusal(
    await makeTestDeb({
      name: "t".repeat(120),
      version: `1:${"1".repeat(126)}`,
      architecture: "all",
    }),
  );
  assert.equal(error.field, "file name");
  assert.match(error.message, /over the limit of 255 bytes apt can save/);
});

Deno.test("the door refuses an oversized control paragraph, naming the limit", async () => {
  const error = await refusal(
    await makeTestDeb({
      name: "tool",
      version: "1.0",
      architecture: "amd64",
      description: `big\n${" long line of text".repeat(4000)}`,
    }),
  );
  assert.equal(error.field, "control");
  assert.match(error.message, new RegExp(`over the limit of ${DOOR_LIMITS.controlBytes} bytes`));
});
