import assert from "node:assert/strict";
import {
  compareVersions,
  isValidVersion,
  latestVersion,
  parseVersion,
  VersionError,
  versionError,
} from "../../lambda/domain/version.ts";

Deno.test("parseVersion splits epoch at the first colon and revision at the last hyphen", () => {
  assert.deepEqual(parseVersion("1.0.337"), { epoch: 0, upstream: "1.0.337", revision: "" });
  assert.deepEqual(parseVersion("2:1.0-rc-3"), { epoch: 2, upstream: "1.0-rc", revision: "3" });
  assert.deepEqual(parseVersion("1:2:3-1"), { epoch: 1, upstream: "2:3", revision: "1" });
  assert.deepEqual(parseVersion("007:1~b"), { epoch: 7, upstream: "1~b", revision: "" });
});

Deno.test("parseVersion refuses what dpkg refuses, naming the reason", () => {
  for (
    const [v, reason] of [
      ["", "empty"],
      ["1.0 2", "embedded spaces"],
      [":1.0", "epoch in version is empty"],
      ["a:1.0", "not number"],
      ["99999999999:1", "too big"],
      ["1:", "nothing after colon"],
      ["1.0-", "revision number is empty"],
      ["-1", "version number is empty"],
    ] as const
  ) {
    assert.throws(() => parseVersion(v), (e: unknown) => {
      assert.ok(e instanceof VersionError);
      assert.match(e.message, new RegExp(reason));
      assert.match(e.message, new RegExp(JSON.stringify(v).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      return true;
    });
  }
});

Deno.test("isValidVersion follows dpkg's syntax rules", () => {
  for (const v of ["1.0", "1:1.0-1", "1.0~rc1+git2024.1-0ubuntu1", "0", "1.0-1-1", "2:1:2-1"]) {
    assert.ok(isValidVersion(v), v);
  }
  for (const v of ["v1.0", "1.0_1", "1.0-a_b", "1.0-1:2", "latest", "1.0 ", "1..0/2", "1.0-"]) {
    assert.ok(!isValidVersion(v), v);
  }
  assert.equal(versionError("v1"), "version number does not start with digit");
  assert.equal(versionError("1_0"), 'invalid character "_" in version number');
  assert.equal(versionError("1:1-a:b"), 'invalid character ":" in revision number');
  assert.equal(versionError("1.2.3-1"), null);
});

Deno.test("compareVersions follows dpkg's order on the classic examples", () => {
  const ascending = [
    "0.9",
    "1.0~~",
    "1.0~~a",
    "1.0~",
    "1.0~rc1",
    "1.0",
    "1.0-1",
    "1.0a",
    "1.0+",
    "1.0+b1",
    "1.0.1",
    "1.9.0",
    "1.10.0",
    "1:0.1",
    "2:0",
  ];
  for (let i = 0; i < ascending.length; i++) {
    for (let j = 0; j < ascending.length; j++) {
      const want = Math.sign(i - j);
      assert.equal(
        compareVersions(ascending[i]!, ascending[j]!),
        want,
        `${ascending[i]} vs ${ascending[j]}`,
      );
    }
  }
});

Deno.test("compareVersions holds equal what dpkg holds equal", () => {
  assert.equal(compareVersions("1.0", "1.0-0"), 0);
  assert.equal(compareVersions("0:1.0", "1.0"), 0);
  assert.equal(compareVersions("1.001", "1.1"), 0);
  assert.equal(compareVersions("00:1", "1"), 0);
});

Deno.test("latestVersion returns the highest version, or undefined for none", () => {
  assert.equal(latestVersion(["1.9.0", "1.10.0", "1.10.0~rc1"]), "1.10.0");
  assert.equal(latestVersion(["1:0.1", "9.9"]), "1:0.1");
  assert.equal(latestVersion([]), undefined);
  assert.throws(() => latestVersion([""]), VersionError);
});
