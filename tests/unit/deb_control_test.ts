import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BINARY_CONTROL_ORDER,
  ControlSyntaxError,
  formatControl,
  getField,
  isValidFieldName,
  parseControl,
} from "../../lambda/deb/control.ts";

const source = "kiro_1.0_amd64.deb: control.tar.xz ./control";

function parseError(text: string): ControlSyntaxError {
  try {
    parseControl(text, { source });
  } catch (error) {
    assert.ok(error instanceof ControlSyntaxError, `expected ControlSyntaxError, got ${error}`);
    assert.ok(error.message.startsWith(`${source}: `), error.message);
    return error;
  }
  assert.fail(`parseControl accepted ${JSON.stringify(text)}`);
}

Deno.test("parseControl keeps the first line trimmed and continuation lines as they stood", () => {
  const text = "Package: kiro\nVersion:   1:1.0~rc1+b2  \nArchitecture: amd64\n" +
    "Description: the Kiro IDE\n An agentic IDE.\n .\n\tTabbed line.\n";
  assert.deepEqual(parseControl(text, { source }), {
    Package: "kiro",
    Version: "1:1.0~rc1+b2",
    Architecture: "amd64",
    Description: "the Kiro IDE\n An agentic IDE.\n .\n\tTabbed line.",
  });
});

Deno.test("parseControl accepts a value that starts on the next line, and an empty value", () => {
  assert.deepEqual(
    parseControl("Package: a\nConffiles:\n /etc/a 0123\nEmpty:\n", { source }),
    { Package: "a", Conffiles: "\n /etc/a 0123", Empty: "" },
  );
});

Deno.test("parseControl ignores blank lines around the paragraph and CR before LF", () => {
  assert.deepEqual(
    parseControl("\n\nPackage: a\r\nVersion: 1\r\n\n\n", { source }),
    { Package: "a", Version: "1" },
  );
});

Deno.test("parseControl allows white space before the colon and colons in the value", () => {
  assert.deepEqual(
    parseControl("Package : a\nX-Url: http://x:80/a\nX-Y:: 1\n", { source }),
    { Package: "a", "X-Url": "http://x:80/a", "X-Y": ": 1" },
  );
});

Deno.test("parseControl rejects comment lines, as dpkg does in a binary package", () => {
  const error = parseError("Package: a\n# a comment\nVersion: 1\n");
  assert.equal(error.line, 2);
  assert.match(error.message, /comment lines are not allowed/);
});

Deno.test("parseControl rejects duplicate fields, whatever their case", () => {
  const error = parseError("Package: a\nVersion: 1\nversion: 2\n");
  assert.equal(error.line, 3);
  assert.match(error.message, /duplicate field version \(already given as Version\)/);
});

Deno.test("parseControl rejects a line that is not a field, naming its line", () => {
  const error = parseError("Package: a\nVersion: 1\ngarbage line\n");
  assert.equal(error.line, 3);
  assert.match(error.message, /line 3: line "garbage line" is not a field/);
});

Deno.test("parseControl rejects a continuation line before any field", () => {
  assert.equal(parseError(" Package: a\n").line, 1);
});

Deno.test("parseControl rejects a white-space-only line inside a value", () => {
  const error = parseError("Package: a\nDescription: x\n \n y\n");
  assert.equal(error.line, 3);
  assert.match(error.message, /blank line in the value of field Description/);
  assert.equal(parseError("Package: a\n\n  \n").line, 3);
});

Deno.test("parseControl rejects a second paragraph", () => {
  const error = parseError("Package: a\n\nPackage: b\n");
  assert.equal(error.line, 3);
  assert.match(error.message, /more than one paragraph/);
});

Deno.test("parseControl rejects invalid field names and empty text", () => {
  assert.match(parseError("Package: a\n-X: 1\n").message, /invalid field name "-X"/);
  assert.match(parseError(": value\n").message, /empty field name/);
  assert.match(parseError("").message, /no control paragraph/);
  assert.match(parseError("\n\n").message, /no control paragraph/);
});

Deno.test("parseControl stores a field named __proto__ as data", () => {
  const fields = parseControl("Package: a\n__proto__: x\n", { source });
  assert.equal(Object.getOwnPropertyDescriptor(fields, "__proto__")?.value, "x");
  assert.equal(Object.getPrototypeOf(fields), Object.prototype);
});

Deno.test("getField finds a field without regard to case", () => {
  const fields = { Package: "a", "installed-size": "12" };
  assert.equal(getField(fields, "package"), "a");
  assert.equal(getField(fields, "Installed-Size"), "12");
  assert.equal(getField(fields, "Version"), undefined);
});

Deno.test("formatControl writes fields in the requested order, the rest in insertion order", () => {
  const text = formatControl(
    {
      Description: "d\n long",
      "X-Custom": "1",
      version: "1.0",
      Package: "a",
      Conffiles: "\n /etc/a",
    },
    { order: BINARY_CONTROL_ORDER },
  );
  assert.equal(
    text,
    "Package: a\nversion: 1.0\nDescription: d\n long\nX-Custom: 1\nConffiles:\n /etc/a\n",
  );
});

Deno.test("formatControl refuses values that would not parse back", () => {
  assert.throws(() => formatControl({ A: "x\nnot indented" }), ControlSyntaxError);
  assert.throws(() => formatControl({ A: "x\n " }), ControlSyntaxError);
  assert.throws(() => formatControl({ A: "x\n y " }), ControlSyntaxError);
  assert.throws(() => formatControl({ A: " x" }), ControlSyntaxError);
  assert.throws(() => formatControl({ "Bad Name": "x" }), ControlSyntaxError);
  assert.throws(() => formatControl({ A: "1", a: "2" }), /duplicate field/);
  assert.throws(() => formatControl({}), /no fields/);
});

const fieldName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
const firstLine = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
const continuation = fc.oneof(
  fc.constant(" ."),
  fc.stringMatching(/^[ \t][\x20-\x7e]{0,30}[\x21-\x7e]$/),
);
const value = fc.tuple(
  fc.oneof(firstLine, fc.constant("")),
  fc.array(continuation, { maxLength: 4 }),
)
  .filter(([first, rest]) => first !== "" || rest.length > 0)
  .map(([first, rest]) => [first, ...rest].join("\n"));
const paragraph = fc.uniqueArray(fc.tuple(fieldName, value), {
  minLength: 1,
  maxLength: 12,
  selector: ([name]) => name.toLowerCase(),
}).map((entries) => Object.fromEntries(entries));

Deno.test("parseControl reads back what formatControl writes", () => {
  fc.assert(
    fc.property(paragraph, (fields) => {
      const text = formatControl(fields);
      assert.ok(text.endsWith("\n"));
      const parsed = parseControl(text, { source });
      assert.deepEqual(parsed, fields);
      assert.deepEqual(Object.keys(parsed), Object.keys(fields));
    }),
    { numRuns: 200 },
  );
});

Deno.test("isValidFieldName follows Debian Policy", () => {
  for (const name of ["Package", "X-Foo_Bar", "a.b", "Z9"]) assert.ok(isValidFieldName(name), name);
  for (const name of ["", "#x", "-x", "a b", "a:b", "é"]) assert.ok(!isValidFieldName(name), name);
});
