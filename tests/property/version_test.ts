import assert from "node:assert/strict";
import fc from "fast-check";
import { compareVersions, isValidVersion, latestVersion } from "../../lambda/domain/version.ts";
import { missingTools } from "../support/tools.ts";

const DIGITS = "0123456789".split("");
const CHARS = [...DIGITS, "0", "00", "a", "b", "z", "A", "Z", ".", ".", "+", "~", "~", "~~"];

/** An upstream part: starts with a digit, then digits, letters, `.`, `+`, `~`. */
const upstreamArb = fc
  .tuple(
    fc.constantFrom(...DIGITS, "0", "00", "01", "10", "9"),
    fc.array(fc.constantFrom(...CHARS), { maxLength: 7 }),
  )
  .map(([head, tail]) => head + tail.join(""));
const revisionArb = fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 4 })
  .map((chars) => chars.join(""));

/** Tricky but valid Debian versions: epochs (with leading zeros), `~`, `+`, letters, revisions. */
const versionArb = fc
  .record({
    epoch: fc.option(fc.constantFrom("0", "1", "2", "00", "01", "10"), { nil: undefined }),
    upstream: upstreamArb,
    // A `-` inside the upstream part is allowed when there is a revision.
    inner: fc.option(upstreamArb, { nil: undefined }),
    revision: fc.option(revisionArb, { nil: undefined }),
  })
  .map(({ epoch, upstream, inner, revision }) =>
    (epoch === undefined ? "" : `${epoch}:`) + upstream +
    (revision === undefined ? "" : (inner === undefined ? "" : `-${inner}`) + `-${revision}`)
  );

/** A version and a small edit of it, so that near-equal pairs are common. */
const nearPairArb = fc
  .tuple(versionArb, fc.nat(), fc.constantFrom("~", "+", ".", "0", "a", "1", "-1", ""))
  .map(([v, at, insert]) => {
    const i = at % (v.length + 1);
    let w = v.slice(0, i) + insert + v.slice(i);
    if (!isValidVersion(w)) w = v + insert.replace("-", "");
    return [v, isValidVersion(w) ? w : v] as [string, string];
  });

const pairArb = fc.oneof(fc.tuple(versionArb, versionArb), nearPairArb);

/** Asks dpkg about many pairs in one shell: -1, 0 or 1 per pair. */
async function dpkgOrder(pairs: [string, string][]): Promise<number[]> {
  const script = pairs
    .map(([a, b]) =>
      `if dpkg --compare-versions '${a}' lt '${b}'; then echo -1; ` +
      `elif dpkg --compare-versions '${a}' eq '${b}'; then echo 0; else echo 1; fi`
    )
    .join("\n");
  const out = await new Deno.Command("sh", {
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = out.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script + "\n"));
  await writer.close();
  const { stdout, code } = await out.output();
  assert.equal(code, 0);
  return new TextDecoder().decode(stdout).trim().split("\n").map(Number);
}

Deno.test({
  name:
    "compareVersions agrees with dpkg --compare-versions on 3000 generated pairs (2000 seeded, 1000 fresh)",
  ignore: missingTools(["dpkg"]),
  async fn() {
    const pairs = fc.sample(pairArb, { numRuns: 2000, seed: 20261122 });
    // A second, unseeded batch so that every run explores new pairs too.
    pairs.push(...fc.sample(pairArb, 1000));
    const expected = await dpkgOrder(pairs);
    assert.equal(expected.length, pairs.length);
    const wrong = pairs
      .map(([a, b], i) => ({ a, b, dpkg: expected[i], ours: compareVersions(a, b) }))
      .filter((r) => r.dpkg !== r.ours);
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} pairs disagree with dpkg`);
  },
});

Deno.test("compareVersions is antisymmetric and reflexive", () => {
  fc.assert(
    fc.property(pairArb, ([a, b]) => {
      assert.equal(compareVersions(a, a), 0);
      assert.equal(compareVersions(a, b), -compareVersions(b, a) || 0);
    }),
    { numRuns: 500 },
  );
});

Deno.test("compareVersions is transitive", () => {
  fc.assert(
    fc.property(versionArb, versionArb, versionArb, (a, b, c) => {
      const [x, y, z] = [a, b, c].sort(compareVersions) as [string, string, string];
      assert.ok(compareVersions(x, y) <= 0 && compareVersions(y, z) <= 0);
      assert.ok(compareVersions(x, z) <= 0);
    }),
    { numRuns: 500 },
  );
});

Deno.test("a longer numeric component sorts after a shorter one (1.9.0 < 1.10.0)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 5000 }), { minLength: 1, maxLength: 4 }),
      fc.nat({ max: 3 }),
      fc.integer({ min: 1, max: 1000 }),
      (parts, at, bump) => {
        const i = at % parts.length;
        const higher = parts.map((p, k) => (k === i ? p + bump : p));
        assert.equal(compareVersions(parts.join("."), higher.join(".")), -1);
        assert.equal(compareVersions(higher.join("."), parts.join(".")), 1);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("latestVersion picks the version that no other version exceeds", () => {
  fc.assert(
    fc.property(fc.array(versionArb, { minLength: 1, maxLength: 30 }), (versions) => {
      const latest = latestVersion(versions);
      assert.ok(latest !== undefined && versions.includes(latest));
      for (const v of versions) assert.ok(compareVersions(v, latest) <= 0);
      const shuffled = [...versions].reverse();
      assert.equal(compareVersions(latestVersion(shuffled)!, latest), 0);
    }),
    { numRuns: 200 },
  );
});
