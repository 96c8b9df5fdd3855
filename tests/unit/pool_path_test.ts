import assert from "node:assert/strict";
import fc from "fast-check";
import { poolKey, PoolPathError, poolPrefix } from "../../lambda/domain/pool_path.ts";

Deno.test("poolPrefix is the first letter, or four letters for lib* names", () => {
  assert.equal(poolPrefix("kiro"), "k");
  assert.equal(poolPrefix("kiro-repo"), "k");
  assert.equal(poolPrefix("libacorn1"), "liba");
  assert.equal(poolPrefix("lib"), "l");
  assert.equal(poolPrefix("libc6"), "libc");
  assert.equal(poolPrefix("0ad"), "0");
});

Deno.test("poolKey writes name, full version and architecture", () => {
  assert.equal(
    poolKey({ name: "kiro", version: "1.0.337", architecture: "amd64" }),
    "pool/main/k/kiro/kiro_1.0.337_amd64.deb",
  );
  assert.equal(
    poolKey({ name: "libfoo1", version: "2:1.0~rc1+b1-1", architecture: "all" }),
    "pool/main/libf/libfoo1/libfoo1_2:1.0~rc1+b1-1_all.deb",
  );
});

Deno.test("poolKey keeps the epoch, so versions that differ only by epoch never collide", () => {
  const a = poolKey({ name: "kiro", version: "1.0", architecture: "amd64" });
  const b = poolKey({ name: "kiro", version: "1:1.0", architecture: "amd64" });
  assert.notEqual(a, b);
});

Deno.test("poolKey refuses names, versions and architectures that would make a bad key", () => {
  for (
    const input of [
      { name: "Kiro", version: "1.0", architecture: "amd64" },
      { name: "../etc", version: "1.0", architecture: "amd64" },
      { name: "k", version: "1.0", architecture: "amd64" },
      { name: "kiro", version: "1.0/../../x", architecture: "amd64" },
      { name: "kiro", version: "v1", architecture: "amd64" },
      { name: "kiro", version: "1.0", architecture: "amd_64" },
      { name: "kiro", version: "1.0", architecture: "" },
    ]
  ) {
    assert.throws(() => poolKey(input), PoolPathError, JSON.stringify(input));
  }
});

const nameArb = fc
  .tuple(
    fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789".split(""), "lib"),
    fc.stringMatching(/^[a-z0-9+.-]{1,20}$/),
  )
  .map(([a, b]) => a + b);

Deno.test("the pool folder is pool/main/{prefix}/{name}/", () => {
  fc.assert(
    fc.property(
      nameArb,
      fc.stringMatching(/^[0-9][0-9a-z.+~]{0,8}(-[0-9a-z.+~]{1,4})?$/),
      fc.constantFrom("amd64", "arm64", "all", "i386"),
      (name, version, architecture) => {
        const key = poolKey({ name, version, architecture });
        const prefix = name.startsWith("lib") && name.length > 3 ? name.slice(0, 4) : name[0];
        assert.ok(key.startsWith(`pool/main/${prefix}/${name}/`), key);
        assert.equal(
          key.slice(`pool/main/${prefix}/${name}/`.length),
          `${name}_${version}_${architecture}.deb`,
        );
        assert.equal(key.split("/").length, 5);
      },
    ),
    { numRuns: 300 },
  );
});
