import assert from "node:assert/strict";
import fc from "fast-check";
import {
  PACKAGE_TYPES,
  type PackageRecord,
  type PackageType,
} from "../../lambda/domain/package_record.ts";
import { packagesStanza, parseStanzas, StanzaError } from "../../lambda/repo/stanza.ts";

function record(overrides: Partial<PackageRecord> = {}): PackageRecord {
  const name = overrides.package_name ?? "kiro";
  const version = overrides.version ?? "1.0.337";
  const architecture = overrides.architecture ?? "amd64";
  return {
    package_id: `${name}#${version}`,
    package_name: name,
    version,
    architecture,
    package_type: "external_download",
    pub_date: "2026-01-01T00:00:00Z",
    processed_timestamp: "2026-01-02T00:00:00Z",
    deb_url: "https://example.invalid/kiro.deb",
    actual_filename: "kiro.deb",
    pool_key: `pool/main/k/${name}/${name}_${version}_${architecture}.deb`,
    file_size: 123456,
    md5_hash: "0123456789abcdef0123456789abcdef",
    sha1_hash: "0123456789abcdef0123456789abcdef01234567",
    sha256_hash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    section: "editors",
    priority: "optional",
    maintainer: "Kiro Team <kiro@example.invalid>",
    homepage: "https://kiro.dev",
    description: "Kiro IDE\nAn agentic IDE.\n\nSecond paragraph.",
    control: {},
    ...overrides,
  };
}

function lines(stanza: string): string[] {
  return stanza.split("\n").filter((l) => l !== "");
}

Deno.test("the stanza is written from the .deb's control paragraph, not the record's copies", () => {
  const stanza = packagesStanza(record({
    control: {
      Package: "kiro",
      Version: "1.0.337",
      Architecture: "amd64",
      Maintainer: "Real Maintainer <real@example.invalid>",
      "Installed-Size": "400000",
      Depends: "libgtk-3-0 (>= 3.9.10), libnss3 (>= 2:3.26)",
      Section: "devel",
      Priority: "optional",
      Description: "Real synopsis\n Real long text.",
    },
  }));
  const [fields] = parseStanzas(stanza);
  assert.equal(fields!.Maintainer, "Real Maintainer <real@example.invalid>");
  assert.equal(fields!.Section, "devel");
  assert.equal(fields!.Description, "Real synopsis\n Real long text.");
  assert.equal(fields!.Depends, "libgtk-3-0 (>= 3.9.10), libnss3 (>= 2:3.26)");
  // Homepage is missing from the paragraph, so the record supplies it.
  assert.equal(fields!.Homepage, "https://kiro.dev");
});

Deno.test("a legacy record with an empty control paragraph gets every field from the record", () => {
  const stanza = packagesStanza(record({ depends: "libc6 (>= 2.31)" }));
  assert.equal(
    stanza,
    [
      "Package: kiro",
      "Architecture: amd64",
      "Version: 1.0.337",
      "Priority: optional",
      "Section: editors",
      "Maintainer: Kiro Team <kiro@example.invalid>",
      "Depends: libc6 (>= 2.31)",
      "Filename: pool/main/k/kiro/kiro_1.0.337_amd64.deb",
      "Size: 123456",
      "MD5sum: 0123456789abcdef0123456789abcdef",
      "SHA1: 0123456789abcdef0123456789abcdef01234567",
      "SHA256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "Homepage: https://kiro.dev",
      "Description: Kiro IDE",
      " An agentic IDE.",
      " .",
      " Second paragraph.",
      "",
    ].join("\n"),
  );
});

Deno.test("fields follow apt's canonical order and names; unknown fields follow in their own order", () => {
  const stanza = packagesStanza(record({
    control: {
      "X-Zebra": "z",
      Description: "d",
      depends: "libc6",
      Version: "1.0.337",
      "Package-Type": "deb",
      Package: "kiro",
      "X-Alpha": "a",
      Architecture: "amd64",
      Maintainer: "M <m@example.invalid>",
      "Built-Using": "foo (= 1)",
      Essential: "no",
      "Description-md5": "0123",
      Tag: "role::program",
      Optional: "legacy",
    },
  }));
  assert.deepEqual(lines(stanza).map((l) => l.slice(0, l.indexOf(":"))), [
    "Package",
    "Package-Type",
    "Architecture",
    "Version",
    "Built-Using",
    "Priority",
    "Essential",
    "Section",
    "Maintainer",
    "Depends",
    "Filename",
    "Size",
    "MD5sum",
    "SHA1",
    "SHA256",
    "Homepage",
    "Description",
    "Description-md5",
    "Tag",
    "X-Zebra",
    "X-Alpha",
    "Optional",
  ]);
});

Deno.test("Status, SHA512 and the paragraph's own Filename, Size and hashes never reach the stanza", () => {
  const stanza = packagesStanza(record({
    control: {
      Package: "kiro",
      Version: "1.0.337",
      Architecture: "amd64",
      Maintainer: "M <m@example.invalid>",
      Description: "d",
      Status: "install ok installed",
      Filename: "elsewhere.deb",
      Size: "1",
      MD5sum: "ffffffffffffffffffffffffffffffff",
      SHA512: "f".repeat(128),
    },
  }));
  const [fields] = parseStanzas(stanza);
  assert.equal(fields!.Status, undefined);
  assert.equal(fields!.SHA512, undefined);
  assert.equal(fields!.Filename, "pool/main/k/kiro/kiro_1.0.337_amd64.deb");
  assert.equal(fields!.Size, "123456");
  assert.equal(fields!.MD5sum, "0123456789abcdef0123456789abcdef");
});

Deno.test("a value that starts on the next line is written without a space after the colon", () => {
  const stanza = packagesStanza(record({
    control: {
      Package: "kiro",
      Version: "1.0.337",
      Architecture: "amd64",
      Maintainer: "M <m@example.invalid>",
      Description: "d",
      Conffiles: "\n /etc/kiro/kiro.conf 0123456789abcdef0123456789abcdef",
      "X-Empty": "",
    },
  }));
  assert.match(stanza, /\nConffiles:\n \/etc\/kiro\/kiro\.conf 0123/);
  assert.match(stanza, /\nX-Empty:\n/);
  assert.deepEqual(
    parseStanzas(stanza)[0]!.Conffiles,
    "\n /etc/kiro/kiro.conf 0123456789abcdef0123456789abcdef",
  );
});

Deno.test("records that disagree with their control paragraph are refused", () => {
  const control = {
    Package: "kiro",
    Version: "1.0.337",
    Architecture: "amd64",
    Maintainer: "M <m@example.invalid>",
    Description: "d",
  };
  for (
    const [bad, pattern] of [
      [{ control: { ...control, Version: "1.0.338" } }, /control Version "1.0.338" differs/],
      [{ control: { ...control, Package: "other" } }, /control Package "other" differs/],
      [{ control: { ...control, Architecture: "arm64" } }, /control Architecture "arm64" differs/],
      [{ md5_hash: "xyz" }, /md5_hash "xyz" is not a lowercase hex digest/],
      [{ sha256_hash: "A".repeat(64) }, /sha256_hash/],
      [{ file_size: -1 }, /file_size -1/],
      [{ pool_key: "" }, /pool_key/],
      [{ maintainer: "" }, /no Maintainer/],
      [{ description: "" }, /no Description/],
      [{ control: { ...control, Depends: "a\nPackage: evil" } }, /continuation line/],
      [{ control: { ...control, Depends: "a\n\n b" } }, /continuation line/],
      [{ control: { ...control, "Bad Name": "x" } }, /control field name "Bad Name"/],
      [{ homepage: "https://a\nPackage: evil" }, /homepage must be a single line/],
      [{ control: { ...control, Depends: "a", depends: "b" } }, /field depends appears twice/],
      [{ control: { ...control, "X-A": "a", "x-a": "b" } }, /field x-a appears twice/],
    ] as const
  ) {
    assert.throws(() => packagesStanza(record(bad as Partial<PackageRecord>)), (e: unknown) => {
      assert.ok(e instanceof StanzaError, String(e));
      assert.match(e.message, pattern);
      assert.match(e.message, /kiro#1\.0\.337/);
      return true;
    });
  }
});

Deno.test("parseStanzas reads back what packagesStanza writes", () => {
  const text = packagesStanza(record()) + "\n" + packagesStanza(record({ version: "2.0" })) + "\n";
  const parsed = parseStanzas(text);
  assert.equal(parsed.length, 2);
  assert.equal(parsed[1]!.Version, "2.0");
  assert.equal(parsed[0]!.Description, "Kiro IDE\n An agentic IDE.\n .\n Second paragraph.");
  assert.throws(() => parseStanzas(" orphan continuation\n"), StanzaError);
  assert.throws(() => parseStanzas("no colon here\n"), StanzaError);
});

const REQUIRED = [
  "Package",
  "Version",
  "Architecture",
  "Maintainer",
  "Section",
  "Priority",
  "Homepage",
  "Description",
  "Filename",
  "Size",
  "MD5sum",
  "SHA1",
  "SHA256",
];

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const recordArb = fc.record({
  name: fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,30}$/),
  version: fc.stringMatching(/^([0-9]:)?[0-9][0-9a-z.+~]{0,10}(-[0-9a-z.+~]{1,4})?$/),
  architecture: fc.constantFrom("amd64", "arm64", "all"),
  type: fc.constantFrom<PackageType>(...PACKAGE_TYPES),
  md5: hex(32),
  sha1: hex(40),
  sha256: hex(64),
  size: fc.nat(),
  fromControl: fc.boolean(),
  description: fc.array(fc.stringMatching(/^[A-Za-z0-9 ,.()-]{0,40}$/), {
    minLength: 1,
    maxLength: 5,
  })
    .filter((l) => l[0]!.trim() !== ""),
});

Deno.test("property 8 and 22: every stanza has the required fields, whatever the package and its type", () => {
  fc.assert(
    fc.property(recordArb, (r) => {
      const base = record({
        package_name: r.name,
        version: r.version,
        architecture: r.architecture,
        package_type: r.type,
        md5_hash: r.md5,
        sha1_hash: r.sha1,
        sha256_hash: r.sha256,
        file_size: r.size,
        description: r.description.join("\n"),
      });
      const rec = r.fromControl
        ? {
          ...base,
          control: {
            Package: r.name,
            Version: r.version,
            Architecture: r.architecture,
            Maintainer: "Someone <s@example.invalid>",
            Description: "from control",
          },
        }
        : base;
      const parsed = parseStanzas(packagesStanza(rec));
      assert.equal(parsed.length, 1);
      const fields = parsed[0]!;
      for (const name of REQUIRED) assert.ok(fields[name] !== undefined, `${name} missing`);
      assert.equal(fields.Package, r.name);
      assert.equal(fields.Version, r.version);
      assert.equal(fields.Architecture, r.architecture);
      assert.equal(fields.Size, String(r.size));
      assert.equal(fields.SHA256, r.sha256);
      assert.equal(fields.Filename, rec.pool_key);
    }),
    { numRuns: 200 },
  );
});

Deno.test("a refused record leaves none of its fields in the next record's stanza", () => {
  const refused = record({
    package_name: "leaky",
    control: { Package: "leaky", Depends: "libleak1", Conffiles: "\n /etc/leak 0123" },
    sha256_hash: "not-a-digest",
  });
  assert.throws(() => packagesStanza(refused), StanzaError);
  const stanza = packagesStanza(record({ homepage: "", section: "" }));
  assert.doesNotMatch(stanza, /leak|Depends|Conffiles|Homepage|Section/);
  assert.equal(parseStanzas(stanza)[0]!.Package, "kiro");
});
