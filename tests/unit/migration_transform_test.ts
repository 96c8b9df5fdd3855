import assert from "node:assert/strict";
import {
  canonicalNumber,
  decodeItem,
  differingAttributes,
  encodeItem,
  type Item,
  itemsEqual,
} from "../../tasks/migration/attribute_value.ts";
import {
  controlDescription,
  recordProblems,
  transformAndValidate,
  TransformError,
  transformLegacyItem,
} from "../../tasks/migration/transform.ts";
import { legacyItem } from "../../tasks/migration/legacy_table.ts";
import { KIRO_LEGACY_DEFAULTS } from "../support/migration_fixtures.ts";

const defaults = KIRO_LEGACY_DEFAULTS;

const legacy = legacyItem({
  version: "0.2.13",
  pubDate: "2025-08-14T10:00:00Z",
  processedTimestamp: "2025-08-14T10:05:00.123456",
  debUrl:
    "https://prod.download.desktop.kiro.dev/releases/202508/kiro-ide-0.2.13-stable-linux-x64.deb",
  actualFilename: "kiro-ide-0.2.13-stable-linux-x64.deb",
  size: 123456789,
  md5: "0".repeat(32),
  sha1: "1".repeat(40),
  sha256: "a".repeat(64),
  certificateUrl: "https://prod.download.desktop.kiro.dev/releases/202508/certificate.pem",
  signatureUrl: "https://prod.download.desktop.kiro.dev/releases/202508/signature.bin",
  notes: "Bug fixes",
});

Deno.test("a legacy kiro item gains the new key, identity, Debian fields, pool key and control", () => {
  const out = transformAndValidate(legacy, { defaults });
  assert.deepEqual(out.package_id, { S: "kiro#0.2.13" });
  assert.deepEqual(out.package_name, { S: "kiro" });
  assert.deepEqual(out.architecture, { S: "amd64" });
  assert.deepEqual(out.package_type, { S: "external_download" });
  assert.deepEqual(out.section, { S: "editors" });
  assert.deepEqual(out.maintainer, { S: "Kiro Team <support@kiro.dev>" });
  assert.deepEqual(out.pool_key, { S: "pool/main/k/kiro/kiro-ide-0.2.13-stable-linux-x64.deb" });
  assert.deepEqual(out.control, {
    M: {
      Package: { S: "kiro" },
      Version: { S: "0.2.13" },
      Architecture: { S: "amd64" },
      Maintainer: { S: "Kiro Team <support@kiro.dev>" },
      Section: { S: "editors" },
      Priority: { S: "optional" },
      Homepage: { S: "https://kiro.dev" },
      Description: { S: "Kiro IDE - AI-powered development environment" },
    },
  });
  for (const [name, value] of Object.entries(legacy)) assert.deepEqual(out[name], value, name);
  assert.deepEqual(recordProblems(out), []);
});

Deno.test("the canonical pool layout names the file {name}_{version}_{arch}.deb", () => {
  const out = transformAndValidate(legacy, { defaults, poolLayout: "canonical" });
  assert.deepEqual(out.pool_key, { S: "pool/main/k/kiro/kiro_0.2.13_amd64.deb" });
});

Deno.test("depends from the configuration reaches the record and the control paragraph", () => {
  const out = transformAndValidate(legacy, { defaults: { ...defaults, depends: "libgtk-3-0" } });
  assert.deepEqual(out.depends, { S: "libgtk-3-0" });
  assert.deepEqual(out.control?.M?.Depends, { S: "libgtk-3-0" });
});

Deno.test("an item already in the new shape passes through unchanged", () => {
  const once = transformAndValidate(legacy, { defaults });
  const twice = transformLegacyItem(once, { defaults: { ...defaults, section: "devel" } });
  assert.deepEqual(twice, once);
});

Deno.test("existing fields are kept exactly, numbers and unusual types included", () => {
  const item: Item = {
    ...legacy,
    file_size: { N: "00123.000" },
    tags: { SS: ["b", "a"] },
    blob: { B: new Uint8Array([0, 255, 7]) },
    nested: { M: { list: { L: [{ N: "1e3" }, { NULL: true }, { BOOL: false }] } } },
    section: { S: "devel" },
  };
  const out = transformLegacyItem(item, { defaults });
  assert.deepEqual(out.file_size, { N: "00123.000" });
  assert.deepEqual(out.tags, { SS: ["b", "a"] });
  assert.deepEqual(out.blob, { B: new Uint8Array([0, 255, 7]) });
  assert.deepEqual(out.nested, item.nested);
  assert.deepEqual(out.section, { S: "devel" });
  assert.deepEqual(out.control?.M?.Section, { S: "devel" });
});

Deno.test("an item without a version cannot be transformed and is named", () => {
  const { version: _, ...noVersion } = legacy;
  const error = throwsWith(() => transformAndValidate(noVersion, { defaults }), TransformError);
  assert.deepEqual(error.itemName.includes("actual_filename"), true);
});

Deno.test("an invalid Debian version stops the item with the version named", () => {
  const error = throwsWith(
    () => transformAndValidate({ ...legacy, version: { S: "v1.0 beta" } }, { defaults }),
    TransformError,
  );
  assert.deepEqual(error.itemName, '"v1.0 beta"');
  assert.deepEqual(error.problems.some((p) => p.includes("not a valid Debian version")), true);
});

Deno.test("a size stored as text or a missing hash is refused", () => {
  const { sha256_hash: _, ...noHash } = legacy;
  const problems = recordProblems(
    transformLegacyItem({ ...noHash, file_size: { S: "12" } }, { defaults }),
  );
  assert.deepEqual(problems, ["sha256_hash is missing", "file_size must be a number (N), not S"]);
});

Deno.test("a package_id that disagrees with name and version is refused", () => {
  const problems = recordProblems(
    transformLegacyItem({ ...legacy, package_id: { S: "kiro#9.9" } }, { defaults }),
  );
  assert.deepEqual(problems, ['package_id "kiro#9.9" must be "kiro#0.2.13"']);
});

Deno.test("a file name that cannot be a pool object stops the legacy layout", () => {
  throwsWith(
    () => transformLegacyItem({ ...legacy, actual_filename: { S: "../x.deb" } }, { defaults }),
    TransformError,
    "cannot derive pool_key",
  );
});

Deno.test("multi-line descriptions become Debian continuation lines", () => {
  assert.deepEqual(controlDescription("Short\nLong text\n\nMore"), "Short\n Long text\n .\n More");
  assert.deepEqual(controlDescription("One line\n"), "One line");
});

Deno.test("numbers compare by value, sets without order, maps without order", () => {
  assert.deepEqual(canonicalNumber("1.50"), canonicalNumber("15e-1"));
  assert.deepEqual(canonicalNumber("-0.0"), "0");
  assert.deepEqual(canonicalNumber("100"), "1e2");
  const a: Item = {
    n: { N: "1.50" },
    s: { SS: ["x", "y"] },
    m: { M: { a: { S: "1" }, b: { N: "2" } } },
  };
  const b: Item = {
    m: { M: { b: { N: "2.0" }, a: { S: "1" } } },
    s: { SS: ["y", "x"] },
    n: { N: "1.5" },
  };
  assert.deepEqual(itemsEqual(a, b), true);
  assert.deepEqual(itemsEqual(a, { ...b, n: { S: "1.5" } }), false);
  assert.deepEqual(differingAttributes(a, { ...b, n: { N: "2" }, extra: { NULL: true } }), [
    "extra",
    "n",
  ]);
});

Deno.test("DynamoDB JSON encoding round-trips every attribute type", () => {
  const item: Item = {
    s: { S: "text ü" },
    n: { N: "-12.5000" },
    b: { B: new Uint8Array([1, 2, 3, 250]) },
    ss: { SS: ["a", "b"] },
    ns: { NS: ["1", "2.5"] },
    bs: { BS: [new Uint8Array([1]), new Uint8Array([])] },
    m: { M: { inner: { L: [{ NULL: true }, { BOOL: true }] } } },
  };
  const json = JSON.parse(JSON.stringify(encodeItem(item)));
  assert.deepEqual(json.b, { B: "AQID+g==" });
  assert.deepEqual(decodeItem(json), item);
});

Deno.test("malformed DynamoDB JSON is refused with the attribute's path", () => {
  throwsWith(() => decodeItem({ a: { N: "12abc" } }), Error, "a: number");
  throwsWith(() => decodeItem({ a: { M: { b: { X: 1 } } } }), Error, "a.b: unknown attribute type");
  throwsWith(() => decodeItem({ a: { S: "x", N: "1" } }), Error, "exactly one type key");
  throwsWith(() => decodeItem({ a: { B: "not base64!" } }), Error, "not base64");
  throwsWith(() => decodeItem({ a: { SS: ["x", "x"] } }), Error, "duplicate");
});

/** Runs `fn`, checks it throws an instance of `type` whose message includes `text`, returns the error. */
function throwsWith<E extends Error>(
  fn: () => unknown,
  type: abstract new (...args: never[]) => E,
  text = "",
): E {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.ok(
      error.message.includes(text),
      `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(text)}`,
    );
    return error;
  }
  throw new assert.AssertionError({ message: "expected the call to throw" });
}

Deno.test("an attribute named __proto__ is an attribute like any other", () => {
  const item = JSON.parse('{"__proto__": {"S": "x"}, "constructor": {"N": "1"}}');
  const decoded = decodeItem(item);
  assert.deepEqual(Object.keys(decoded), ["__proto__", "constructor"]);
  assert.equal(
    JSON.stringify(encodeItem(decoded)),
    '{"__proto__":{"S":"x"},"constructor":{"N":"1"}}',
  );
  assert.equal(
    itemsEqual(
      decoded,
      decodeItem(JSON.parse('{"__proto__": {"S": "y"}, "constructor": {"N": "1"}}')),
    ),
    false,
  );
});
