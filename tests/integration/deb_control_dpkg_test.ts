import assert from "node:assert/strict";
import { ControlSyntaxError, parseControl } from "../../lambda/deb/control.ts";
import { missingTools } from "../support/tools.ts";

const BASE = "Version: 1.0\nArchitecture: all\nMaintainer: Kiro <k@kiro.dev>\n";

// Each case is a whole DEBIAN/control; valid base fields so that only the edge case matters.
const CASES: Record<string, string> = {
  "plain": `Package: foo\n${BASE}Description: x\n y\n .\n z\n`,
  "comment line": `Package: foo\n# comment\n${BASE}Description: x\n`,
  "comment inside a value": `Package: foo\n${BASE}Description: x\n# comment\n y\n`,
  "duplicate field in another case": `Package: foo\n${BASE}version: 2\nDescription: x\n`,
  "garbage line": `Package: foo\n${BASE}garbage\nDescription: x\n`,
  "white space only inside a value": `Package: foo\n${BASE}Description: x\n \n y\n`,
  "tab only inside a value": `Package: foo\n${BASE}Description: x\n\t\n y\n`,
  "white space only after the paragraph": `Package: foo\n${BASE}Description: x\n\n  \n`,
  "two paragraphs": `Package: foo\n${BASE}Description: x\n\nFoo: bar\n`,
  "blank lines before and after": `\n\nPackage: foo\n${BASE}Description: x\n\n\n`,
  "tab continuation": `Package: foo\n${BASE}Description: x\n\ty\n`,
  "space before the colon": `Package : foo\n${BASE}Description: x\n`,
  "double colon": `Package: foo\n${BASE}X-Y:: 1\nDescription: x\n`,
  "empty value": `Package: foo\n${BASE}X-Empty:\nDescription: x\n`,
  "value on the next line": `Package: foo\n${BASE}X-Next:\n line one\n line two\nDescription: x\n`,
  "field name starting with a hyphen": `Package: foo\n${BASE}-X: 1\nDescription: x\n`,
  "continuation before any field": ` Package: foo\n${BASE}Description: x\n`,
  "leading and trailing spaces around a value": `Package:    foo   \n${BASE}Description: x\n`,
};

// Where we are deliberately stricter than dpkg-deb, with the reason.
const STRICTER: Record<string, { text: string; reason: string }> = {
  "field name starting with #": {
    text: `Package: foo\n${BASE}#X: 1\nDescription: x\n`,
    reason: "Debian Policy 5.1 forbids it and apt reads such a line as a comment",
  },
};

async function dpkgBuild(
  dir: string,
  control: string,
): Promise<{ ok: boolean; deb: string; stderr: string }> {
  await Deno.remove(`${dir}/pkg`, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${dir}/pkg/DEBIAN`, { recursive: true });
  await Deno.writeTextFile(`${dir}/pkg/DEBIAN/control`, control);
  const deb = `${dir}/out.deb`;
  await Deno.remove(deb).catch(() => {});
  const { success, stderr } = await new Deno.Command("dpkg-deb", {
    args: ["--root-owner-group", "--build", `${dir}/pkg`, deb],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { ok: success, deb, stderr: new TextDecoder().decode(stderr) };
}

async function dpkgField(deb: string, field: string): Promise<string> {
  const { success, stdout } = await new Deno.Command("dpkg-deb", {
    args: ["--field", deb, field],
    stdout: "piped",
  }).output();
  assert.ok(success);
  return new TextDecoder().decode(stdout).replace(/\n$/, "");
}

Deno.test({
  name: "parseControl accepts and rejects the control files dpkg-deb accepts and rejects",
  ignore: missingTools(["dpkg-deb"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "deb-control-" });
    try {
      for (const [label, text] of Object.entries(CASES)) {
        const dpkg = await dpkgBuild(dir, text);
        let ours: Record<string, string> | ControlSyntaxError;
        try {
          ours = parseControl(text, { source: label });
        } catch (error) {
          if (!(error instanceof ControlSyntaxError)) throw error;
          ours = error;
        }
        const accepted = !(ours instanceof ControlSyntaxError);
        assert.equal(
          accepted,
          dpkg.ok,
          `${label}: dpkg-deb ${dpkg.ok ? "accepts" : `rejects (${dpkg.stderr.trim()})`}, ` +
            `parseControl ${accepted ? "accepts" : `rejects (${(ours as Error).message})`}`,
        );
        if (ours instanceof ControlSyntaxError) continue;
        for (const [name, value] of Object.entries(ours)) {
          // dpkg-deb --field with one field name prints its value as stored.
          const printed = await dpkgField(dpkg.deb, name);
          const expected = value;
          assert.equal(printed.replace(/[ \t]+$/gm, ""), expected, `${label}: field ${name}`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "parseControl rejects what Debian Policy forbids even where dpkg-deb accepts it",
  ignore: missingTools(["dpkg-deb"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "deb-control-" });
    try {
      for (const [label, { text, reason }] of Object.entries(STRICTER)) {
        const dpkg = await dpkgBuild(dir, text);
        assert.ok(dpkg.ok, `${label}: dpkg-deb now rejects it too (${dpkg.stderr.trim()})`);
        assert.throws(() => parseControl(text, { source: label }), ControlSyntaxError, reason);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
