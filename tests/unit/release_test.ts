import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { parseControl } from "../../lambda/deb/control.ts";
import { hashBytes } from "../../lambda/hashing.ts";
import {
  parseRelease,
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

/** `date` to the second, as a Release says it. */
const toSecond = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);

Deno.test("parseRelease reads back exactly what releaseFile writes", () => {
  const entries = [
    { path: "main/binary-arm64/Packages", bytes: bytes("") },
    { path: "main/binary-amd64/Packages", bytes: bytes("Package: a\n") },
    { path: "main/binary-amd64/Packages.gz", bytes: new Uint8Array([31, 139, 8, 0]) },
  ];
  const release = parseRelease(releaseFile(entries, options));
  assert.deepEqual(
    [...release.fields],
    [
      ["Origin", "Kiro"],
      ["Label", "Kiro"],
      ["Suite", "stable"],
      ["Codename", "stable"],
      ["Version", "1.0"],
      ["Date", "Thu, 05 Mar 2026 07:08:09 UTC"],
      ["Valid-Until", "Thu, 12 Mar 2026 07:08:09 UTC"],
      ["Acquire-By-Hash", "yes"],
      ["Architectures", "amd64 arm64"],
      ["Components", "main"],
      ["Description", "Kiro packages for Debian and Ubuntu"],
    ],
  );
  assert.deepEqual(release.date, new Date("2026-03-05T07:08:09Z"));
  assert.deepEqual(release.validUntil, new Date("2026-03-12T07:08:09Z"));
  assert.deepEqual(release.architectures, ["amd64", "arm64"]);
  assert.deepEqual(release.components, ["main"]);
  assert.deepEqual(release.problems, []);
  assert.deepEqual(
    [...release.files.keys()],
    ["main/binary-amd64/Packages", "main/binary-amd64/Packages.gz", "main/binary-arm64/Packages"],
  );
  for (const entry of entries) {
    const { size, md5, sha1, sha256 } = hashBytes(entry.bytes);
    assert.deepEqual(release.files.get(entry.path), { size, md5, sha1, sha256 });
  }
});

const word = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,11}$/);
const line = fc.stringMatching(/^[!-~][ -~]{0,30}[!-~]$/);
const when = fc.date({
  min: new Date("1990-01-01T00:00:00Z"),
  max: new Date("2200-01-01T00:00:00Z"),
})
  .filter((date) => !Number.isNaN(date.getTime()));

Deno.test("parseRelease reads back any Release releaseFile writes (property)", () => {
  fc.assert(
    fc.property(
      fc.record({
        origin: line,
        label: line,
        suite: word,
        codename: word,
        version: fc.oneof(fc.constant(""), word),
        description: fc.oneof(fc.constant(""), line),
        architectures: fc.array(word, { minLength: 1, maxLength: 4 }),
        components: fc.array(word, { minLength: 1, maxLength: 3 }),
        date: when,
        validFor: fc.integer({ min: 1, max: 400 * 86_400_000 }),
        acquireByHash: fc.boolean(),
      }),
      fc.uniqueArray(
        fc.record({
          path: fc.array(word, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/")),
          bytes: fc.uint8Array({ maxLength: 64 }),
        }),
        { selector: (entry) => entry.path, maxLength: 6 },
      ),
      (fields, entries) => {
        const { validFor, ...rest } = fields;
        const written: ReleaseOptions = {
          ...rest,
          validUntil: new Date(fields.date.getTime() + validFor + 1000),
        };
        const text = releaseFile(entries, written);
        const release = parseRelease(text);
        assert.deepEqual(release.problems, []);
        assert.deepEqual(release.date, toSecond(written.date));
        assert.deepEqual(release.validUntil, toSecond(written.validUntil));
        assert.deepEqual(release.architectures, written.architectures);
        assert.deepEqual(release.components, written.components);
        assert.equal(release.fields.get("Origin"), written.origin);
        assert.equal(release.fields.get("Label"), written.label);
        assert.equal(release.fields.get("Suite"), written.suite);
        assert.equal(release.fields.get("Codename"), written.codename);
        assert.equal(release.fields.get("Version"), written.version || undefined);
        assert.equal(release.fields.get("Description"), written.description || undefined);
        assert.equal(
          release.fields.get("Acquire-By-Hash"),
          written.acquireByHash ? "yes" : undefined,
        );
        assert.equal(release.files.size, entries.length);
        for (const entry of entries) {
          const { size, md5, sha1, sha256 } = hashBytes(entry.bytes);
          assert.deepEqual(release.files.get(entry.path), { size, md5, sha1, sha256 });
        }
        // The fields are deb822's, as lambda/deb/control.ts reads them.
        const control = parseControl(text, { source: "Release" });
        for (const name of ["MD5Sum", "SHA1", "SHA256"]) delete control[name];
        assert.deepEqual(Object.fromEntries(release.fields), control);
      },
    ),
  );
});

Deno.test("parseRelease reads what it can of a broken Release and never throws", () => {
  const empty = parseRelease("");
  assert.deepEqual(
    [empty.fields.size, empty.files.size, empty.date, empty.validUntil, empty.architectures],
    [0, 0, undefined, undefined, []],
  );
  assert.deepEqual(empty.problems, ["the text is empty"]);

  const noDates = parseRelease("Origin: Kiro\nDate: yesterday\nSHA256:\n");
  assert.equal(noDates.date, undefined);
  assert.equal(noDates.validUntil, undefined);
  assert.deepEqual(noDates.problems, []);

  assert.match(parseRelease(" no field here\n").problems[0] ?? "", /^line 1: /);

  const broken = parseRelease(
    [
      "Origin: Kiro",
      "Date: Thu, 05 Mar 2026 07:08:09 UTC",
      "not a field",
      "Origin: Other",
      " continued",
      "Description: two",
      " lines ",
      "SHA256:",
      " abc 12 main/binary-amd64/Packages",
      " too-short 1",
      "   ",
      "",
      "MD5Sum:",
      " def 99 main/binary-amd64/Packages",
      "Valid-Until: Thu, 12 Mar 2026 07:08:09 UTC\r",
      "",
    ].join("\n"),
  );
  assert.deepEqual(broken.problems, [
    'line 3: "not a field" is not a field (Name: value)',
    "line 4: field Origin is given twice",
    "line 11: a line of only white space",
    "line 12: an empty line inside the paragraph",
  ]);
  assert.deepEqual(Object.fromEntries(broken.fields), {
    Origin: "Kiro",
    Date: "Thu, 05 Mar 2026 07:08:09 UTC",
    Description: "two\n lines",
    "Valid-Until": "Thu, 12 Mar 2026 07:08:09 UTC",
  });
  assert.deepEqual(broken.date, new Date("2026-03-05T07:08:09Z"));
  assert.deepEqual(broken.validUntil, new Date("2026-03-12T07:08:09Z"));
  assert.deepEqual([...broken.files], [["main/binary-amd64/Packages", {
    size: 12,
    sha256: "abc",
    md5: "def",
  }]]);
});
