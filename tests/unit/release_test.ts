import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  releaseDate,
  ReleaseError,
  releaseFile,
  type ReleaseOptions,
} from "../../lambda/repo/release.ts";

const options: ReleaseOptions = {
  origin: "Kiro",
  label: "Kiro",
  suite: "stable",
  codename: "stable",
  version: "1.0",
  description: "Kiro packages for Debian and Ubuntu",
  architectures: ["amd64", "arm64"],
  components: ["main"],
  date: new Date("2026-03-05T07:08:09.750Z"),
  validUntil: new Date("2026-03-12T07:08:09.750Z"),
};
const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("releaseDate writes RFC 2822 in UTC, to the second, as apt does", () => {
  assert.equal(releaseDate(new Date("2026-03-05T07:08:09.750Z")), "Thu, 05 Mar 2026 07:08:09 UTC");
  assert.equal(releaseDate(new Date("2026-12-31T23:59:59Z")), "Thu, 31 Dec 2026 23:59:59 UTC");
  assert.throws(() => releaseDate(new Date("nope")), ReleaseError);
});

Deno.test("releaseFile writes the suite fields, then MD5Sum, SHA1 and SHA256 sections sorted by path", () => {
  const a = bytes("Package: a\n");
  const text = releaseFile([
    { path: "main/binary-arm64/Packages", bytes: bytes("") },
    { path: "main/binary-amd64/Packages", bytes: a },
  ], options);
  const md5 = createHash("md5").update(a).digest("hex");
  const sha256 = createHash("sha256").update(a).digest("hex");
  const emptySha256 = createHash("sha256").update(new Uint8Array()).digest("hex");
  assert.equal(
    text,
    [
      "Origin: Kiro",
      "Label: Kiro",
      "Suite: stable",
      "Codename: stable",
      "Version: 1.0",
      "Date: Thu, 05 Mar 2026 07:08:09 UTC",
      "Valid-Until: Thu, 12 Mar 2026 07:08:09 UTC",
      "Acquire-By-Hash: yes",
      "Architectures: amd64 arm64",
      "Components: main",
      "Description: Kiro packages for Debian and Ubuntu",
      "MD5Sum:",
      ` ${md5}               11 main/binary-amd64/Packages`,
      ` d41d8cd98f00b204e9800998ecf8427e                0 main/binary-arm64/Packages`,
      "SHA1:",
      ` ${createHash("sha1").update(a).digest("hex")}               11 main/binary-amd64/Packages`,
      ` da39a3ee5e6b4b0d3255bfef95601890afd80709                0 main/binary-arm64/Packages`,
      "SHA256:",
      ` ${sha256}               11 main/binary-amd64/Packages`,
      ` ${emptySha256}                0 main/binary-arm64/Packages`,
      "",
    ].join("\n"),
  );
  assert.doesNotMatch(text, /[ \t]\n/);
});

Deno.test("an empty Version or Description is left out rather than written empty", () => {
  const text = releaseFile([], { ...options, version: "", description: " " });
  assert.doesNotMatch(text, /^Version:/m);
  assert.doesNotMatch(text, /^Description:/m);
  assert.doesNotMatch(text, /[ \t]\n/);
});

Deno.test("releaseFile refuses options and entries that would make a broken Release", () => {
  const e = [{ path: "main/binary-amd64/Packages", bytes: bytes("") }];
  for (
    const [entries, opts, pattern] of [
      [e, { ...options, validUntil: options.date }, /Valid-Until .* must be after Date/],
      [e, { ...options, origin: "" }, /Origin ""/],
      [e, { ...options, label: "a\nSuite: evil" }, /Label/],
      [e, { ...options, architectures: [] }, /Architectures/],
      [e, { ...options, components: ["main contrib"] }, /Components/],
      [[...e, ...e], options, /listed twice/],
      [[{ path: "/abs", bytes: bytes("") }], options, /relative/],
      [[{ path: "../x", bytes: bytes("") }], options, /relative/],
    ] as const
  ) {
    assert.throws(
      () => releaseFile(entries, opts as ReleaseOptions),
      (err: unknown) => err instanceof ReleaseError && pattern.test(err.message),
    );
  }
});
