/**
 * Properties of `canonicalVersion`, the spelling the packages table keys a
 * version by (`name#canonicalVersion(version)`): two versions share it exactly
 * when `dpkg --compare-versions` holds them equal, it is idempotent, it is
 * equal to its input, and a version written the usual way is its own canonical
 * form. The generators make dpkg-equal pairs common: leading zeros, `0:`
 * epochs, `-0` revisions, trailing zeros after letters and separators.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  canonicalVersion,
  compareVersions,
  isValidVersion,
  parseVersion,
  VersionError,
} from "../../lambda/domain/version.ts";
import { missingTools } from "../support/tools.ts";

// --- Generators -------------------------------------------------------------

/** Digit runs, heavy on zeros and leading zeros so that equal spellings are common. */
const DIGIT_RUNS = ["0", "00", "000", "1", "01", "001", "10", "010", "2", "02", "9", "09", "100"];
/** Non-digit runs allowed anywhere in an upstream part or a revision. */
const SEPARATORS = [
  ".",
  ".",
  ".",
  "~",
  "~",
  "+",
  "a",
  "b",
  "Z",
  "rc",
  "~rc",
  "+b",
  ".a",
  "a.",
  "~~",
];

const digitRunArb = fc.constantFrom(...DIGIT_RUNS);

/**
 * One upstream part or revision: an optional leading digit run, then runs of
 * separators each followed by a digit run, or not (a part may end in a
 * separator). `extra` are separators allowed on top (`-`, `:`).
 */
function partArb(options: { startDigit: boolean; extra: string[] }): fc.Arbitrary<string> {
  const separators = [...SEPARATORS, ...options.extra];
  return fc
    .tuple(
      options.startDigit ? digitRunArb : fc.oneof(digitRunArb, fc.constantFrom("a", "b", "~", "+")),
      fc.array(fc.tuple(fc.constantFrom(...separators), digitRunArb), { maxLength: 4 }),
      fc.option(fc.constantFrom(...separators), { nil: undefined }),
    )
    .map(([head, runs, tail]) => head + runs.map(([s, d]) => s + d).join("") + (tail ?? ""));
}

/**
 * A valid Debian version: optional epoch (`0`, `00`, …), an upstream part
 * that may hold `-` (then a revision is added) and `:` (then an epoch is
 * added), an optional revision (`0`, `00`, …).
 */
const versionArb: fc.Arbitrary<string> = fc
  .record({
    epoch: fc.option(fc.constantFrom("0", "00", "000", "1", "01", "2", "10"), { nil: undefined }),
    upstream: fc.oneof(
      { weight: 3, arbitrary: partArb({ startDigit: true, extra: [] }) },
      { weight: 1, arbitrary: partArb({ startDigit: true, extra: ["-", ":", "-", ":"] }) },
    ),
    revision: fc.option(partArb({ startDigit: false, extra: [] }), { nil: undefined }),
  })
  .map(({ epoch, upstream, revision }) => {
    const needsEpoch = upstream.includes(":");
    const needsRevision = upstream.includes("-");
    const e = epoch ?? (needsEpoch ? "0" : undefined);
    const r = revision ?? (needsRevision ? "0" : undefined);
    return (e === undefined ? "" : `${e}:`) + upstream + (r === undefined ? "" : `-${r}`);
  });

/**
 * Strings that dpkg can parse but that need not be valid (warnings only):
 * letters first, `:` in a revision, odd characters. Built from a small
 * alphabet, kept when our parser accepts them (dpkg is asked after `--`, so
 * a leading `-` is fine).
 */
const looseArb: fc.Arbitrary<string> = fc
  .array(fc.constantFrom("0", "0", "1", "00", "a", ".", "~", "+", "-", ":", "0:", "-0", "!", "_"), {
    minLength: 1,
    maxLength: 8,
  })
  .map((chars) => chars.join(""))
  .filter(parses);

/** Whether our parser (and so dpkg) accepts `v` at all. */
function parses(v: string): boolean {
  try {
    parseVersion(v);
    return true;
  } catch (error) {
    if (error instanceof VersionError) return false;
    throw error;
  }
}

/** Spans of the digit runs of `v`. */
function digitRuns(v: string): { start: number; end: number }[] {
  return [...v.matchAll(/[0-9]+/g)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
}

/** One edit meant to give another spelling of the same version (often, not always). */
type Mutation = (v: string, at: number) => string;

const MUTATIONS: Mutation[] = [
  // Add leading zeros to a digit run (epoch, upstream or revision).
  (v, at) => {
    const runs = digitRuns(v);
    if (runs.length === 0) return v;
    const { start } = runs[at % runs.length]!;
    return v.slice(0, start) + (at % 3 === 0 ? "00" : "0") + v.slice(start);
  },
  // Drop the leading zeros of a digit run (all of it when it is the very end).
  (v, at) => {
    const runs = digitRuns(v);
    if (runs.length === 0) return v;
    const { start, end } = runs[at % runs.length]!;
    let digits = v.slice(start, end).replace(/^0+/, "");
    if (digits === "" && end < v.length) digits = "0";
    return v.slice(0, start) + digits + v.slice(end);
  },
  // Append a zero revision.
  (v, at) => v + (at % 2 === 0 ? "-0" : "-00"),
  // Prepend a zero epoch.
  (v, at) => (at % 2 === 0 ? "0:" : "00:") + v,
  // Append a zero (after a final letter or separator it is equal; after a digit, not).
  (v) => v + "0",
  // Drop trailing zeros.
  (v) => v.replace(/0+$/, ""),
  // Drop a zero epoch or a zero revision.
  (v) => v.replace(/^0+:/, "").replace(/-0+$/, ""),
];

/** `v` after 1–3 mutations; each one that gives an unparsable string is skipped. */
const mutatedArb = (v: string): fc.Arbitrary<string> =>
  fc
    .array(fc.tuple(fc.nat({ max: MUTATIONS.length - 1 }), fc.nat()), {
      minLength: 1,
      maxLength: 3,
    })
    .map((edits) =>
      edits.reduce((w, [m, at]) => {
        const next = MUTATIONS[m]!(w, at);
        return parses(next) ? next : w;
      }, v)
    );

/** A version and another spelling of it (usually dpkg-equal, sometimes not). */
const mutatedPairArb: fc.Arbitrary<[string, string]> = versionArb.chain((v) =>
  fc.tuple(fc.constant(v), mutatedArb(v))
);

/** Two spellings that both come from one version. */
const siblingPairArb: fc.Arbitrary<[string, string]> = versionArb.chain((v) =>
  fc.tuple(mutatedArb(v), mutatedArb(v))
);

/** Mostly pairs meant to be equal, plus unrelated and loose pairs (mostly unequal). */
const pairArb: fc.Arbitrary<[string, string]> = fc.oneof(
  { weight: 4, arbitrary: mutatedPairArb },
  { weight: 2, arbitrary: siblingPairArb },
  { weight: 2, arbitrary: fc.tuple(versionArb, versionArb) },
  { weight: 1, arbitrary: looseArb.chain((v) => fc.tuple(fc.constant(v), mutatedArb(v))) },
  { weight: 1, arbitrary: fc.tuple(looseArb, looseArb) },
);

/** Any version the tests feed to canonicalVersion alone. */
const anyVersionArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: versionArb },
  { weight: 2, arbitrary: versionArb.chain(mutatedArb) },
  { weight: 1, arbitrary: looseArb },
);

/**
 * A part written the usual way: digit runs without leading zeros, ending in a
 * digit run, or in a letter (never a letter followed by zeros).
 */
function usualPartArb(options: { startDigit: boolean; extra: string[] }): fc.Arbitrary<string> {
  const number = fc.oneof(fc.constant("0"), fc.nat({ max: 400 }).map(String));
  const separators = [
    ".",
    ".",
    "~",
    "+",
    "a",
    "rc",
    "~rc",
    "+b",
    ".a",
    "~~",
    "Z",
    ...options.extra,
  ];
  return fc
    .tuple(
      options.startDigit ? number : fc.oneof(number, fc.constantFrom("a", "b")),
      fc.array(fc.tuple(fc.constantFrom(...separators), number), { maxLength: 4 }),
      fc.option(fc.constantFrom("a", "rc", "~b", "+z", ".x"), { nil: undefined }),
    )
    .map(([head, runs, tail]) => head + runs.map(([s, d]) => s + d).join("") + (tail ?? ""))
    // After a letter, a final zero is the unusual spelling (`1.0a0` for `1.0a`).
    .filter((part) => !/[A-Za-z]0+$/.test(part));
}

/**
 * A version written the usual way: no zero epoch (unless the upstream part
 * holds a `:`), no zero revision (unless the upstream part holds a `-`).
 */
const usualVersionArb: fc.Arbitrary<string> = fc
  .record({
    epoch: fc.option(fc.integer({ min: 1, max: 40 }).map(String), { nil: undefined }),
    upstream: fc.oneof(
      { weight: 3, arbitrary: usualPartArb({ startDigit: true, extra: [] }) },
      { weight: 1, arbitrary: usualPartArb({ startDigit: true, extra: ["-", ":"] }) },
    ),
    revision: fc.option(usualPartArb({ startDigit: false, extra: [] }), { nil: undefined }),
  })
  .map(({ epoch, upstream, revision }) => {
    const e = epoch ?? (upstream.includes(":") ? "0" : undefined);
    let r = revision !== undefined && /^0*$/.test(revision) ? undefined : revision;
    r ??= upstream.includes("-") ? "0" : undefined;
    return (e === undefined ? "" : `${e}:`) + upstream + (r === undefined ? "" : `-${r}`);
  });

// --- dpkg -------------------------------------------------------------------

/**
 * `dpkg --compare-versions A eq B` for many pairs: one shell per chunk, the
 * chunks in parallel. Each answer is dpkg's exit status: 0 equal, 1 not
 * equal, 2 a version dpkg refused.
 */
async function dpkgEqual(pairs: [string, string][]): Promise<number[]> {
  for (const [a, b] of pairs) {
    assert.ok(!`${a}${b}`.includes("'"), "no quotes in generated versions");
  }
  const chunks = Math.max(1, Math.min(8, navigator.hardwareConcurrency));
  const size = Math.ceil(pairs.length / chunks);
  const answers = await Promise.all(
    Array.from({ length: chunks }, async (_, k) => {
      const chunk = pairs.slice(k * size, (k + 1) * size);
      if (chunk.length === 0) return [];
      const script = chunk
        .map(([a, b]) => `dpkg --compare-versions -- '${a}' eq '${b}' 2>/dev/null; echo $?`)
        .join("\n");
      const child = new Deno.Command("sh", { stdin: "piped", stdout: "piped", stderr: "piped" })
        .spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(script + "\n"));
      await writer.close();
      const { stdout, code } = await child.output();
      assert.equal(code, 0);
      return new TextDecoder().decode(stdout).trim().split("\n").map(Number);
    }),
  );
  const flat = answers.flat();
  assert.equal(flat.length, pairs.length);
  return flat;
}

// --- Properties -------------------------------------------------------------

Deno.test("versions dpkg holds equal share one canonical spelling, and only they do (against compareVersions)", () => {
  let equal = 0;
  let unequal = 0;
  fc.assert(
    fc.property(pairArb, ([a, b]) => {
      const same = canonicalVersion(a) === canonicalVersion(b);
      const eq = compareVersions(a, b) === 0;
      if (eq) equal++;
      else unequal++;
      assert.equal(
        same,
        eq,
        `${a} → ${canonicalVersion(a)}, ${b} → ${canonicalVersion(b)}, compareVersions ${
          compareVersions(a, b)
        }`,
      );
    }),
    { numRuns: 20000 },
  );
  // The generators must make both kinds common, or the property says little.
  assert.ok(equal > 4000 && unequal > 4000, `${equal} equal and ${unequal} unequal pairs`);
});

Deno.test({
  name:
    "versions dpkg --compare-versions holds equal share one canonical spelling, and only they do (3000 pairs, 2000 seeded)",
  ignore: missingTools(["dpkg"]),
  async fn() {
    const pairs = fc.sample(pairArb, { numRuns: 2000, seed: 20261123 });
    // A fresh batch, so every run explores new pairs too.
    pairs.push(...fc.sample(pairArb, 1000));
    const answers = await dpkgEqual(pairs);
    const refused = pairs.filter((_, i) => answers[i] === 2);
    assert.deepEqual(refused.slice(0, 10), [], `dpkg refused ${refused.length} generated pairs`);
    const rows = pairs.map(([a, b], i) => ({
      a,
      b,
      dpkgEqual: answers[i] === 0,
      sameCanonical: canonicalVersion(a) === canonicalVersion(b),
    }));
    const wrong = rows.filter((r) => r.dpkgEqual !== r.sameCanonical);
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} pairs disagree with dpkg`);
    const equal = rows.filter((r) => r.dpkgEqual).length;
    assert.ok(equal > 600 && equal < 2400, `${equal} of ${rows.length} pairs are dpkg-equal`);
  },
});

Deno.test("canonicalVersion is idempotent", () => {
  fc.assert(
    fc.property(anyVersionArb, (v) => {
      const c = canonicalVersion(v);
      assert.equal(canonicalVersion(c), c, `${v} → ${c} → ${canonicalVersion(c)}`);
    }),
    { numRuns: 10000 },
  );
});

Deno.test("a canonical spelling is equal to its version, parses into the same epoch, and stays valid", () => {
  fc.assert(
    fc.property(anyVersionArb, (v) => {
      const c = canonicalVersion(v);
      assert.equal(compareVersions(v, c), 0, `${v} → ${c}`);
      assert.equal(parseVersion(c).epoch, parseVersion(v).epoch, `${v} → ${c}`);
      if (isValidVersion(v)) assert.ok(isValidVersion(c), `${v} is valid, ${c} is not`);
    }),
    { numRuns: 10000 },
  );
});

Deno.test({
  name:
    "dpkg --compare-versions holds every version equal to its canonical spelling (1500 versions)",
  ignore: missingTools(["dpkg"]),
  async fn() {
    const versions = fc.sample(anyVersionArb, { numRuns: 1000, seed: 20261124 });
    versions.push(...fc.sample(anyVersionArb, 500));
    const pairs = versions.map((v) => [v, canonicalVersion(v)] as [string, string]);
    const answers = await dpkgEqual(pairs);
    const wrong = pairs.map(([v, c], i) => ({ v, c, dpkg: answers[i] })).filter((r) =>
      r.dpkg !== 0
    );
    assert.deepEqual(
      wrong.slice(0, 10),
      [],
      `${wrong.length} versions differ from their canonical spelling`,
    );
  },
});

Deno.test("a version written the usual way is its own canonical spelling", () => {
  fc.assert(
    fc.property(usualVersionArb, (v) => {
      assert.ok(isValidVersion(v), v);
      assert.equal(canonicalVersion(v), v);
    }),
    { numRuns: 5000 },
  );
});

// --- Examples ---------------------------------------------------------------

Deno.test("1.0, 1.0-0, 1.00, 0:1.0 and their cousins are all spelled 1.0", () => {
  for (
    const v of ["1.0", "1.0-0", "1.00", "0:1.0", "00:1.0-00", "0:1.00-0", "01.0", "1.", "1.000"]
  ) {
    assert.equal(canonicalVersion(v), "1.0", v);
  }
  assert.equal(canonicalVersion(" 1.0\t"), "1.0", "blanks around a version are not part of it");
});

Deno.test("versions written the usual way are kept as they are", () => {
  for (
    const v of [
      "1.0.337",
      "0",
      "1:1.0.337~rc1",
      "2:0.9+git20260101-1",
      "1.0a",
      "1.0-1",
      "1.0-0ubuntu1",
      "1.0~rc1+b1-3",
      "2.0+demo",
      "1.0-1-0",
      "0:1:0",
      "1.0-0-1",
    ]
  ) {
    assert.equal(canonicalVersion(v), v);
  }
});

Deno.test("leading zeros inside digit runs are dropped everywhere", () => {
  assert.equal(canonicalVersion("2:1.0~rc01-1"), "2:1.0~rc1-1");
  assert.equal(canonicalVersion("002:01.010-007"), "2:1.10-7");
  assert.equal(canonicalVersion("1.0a0"), "1.0a");
  assert.equal(canonicalVersion("1.0a00-0"), "1.0a");
  assert.equal(canonicalVersion("1.0-1.00"), "1.0-1.0");
});

Deno.test("1.0-1-0 stays distinct from 1.0-1, and 0:1:0 from 1:0", () => {
  assert.equal(canonicalVersion("1.0-1-0"), "1.0-1-0");
  assert.notEqual(canonicalVersion("1.0-1-0"), canonicalVersion("1.0-1"));
  assert.notEqual(compareVersions("1.0-1-0", "1.0-1"), 0);
  assert.equal(canonicalVersion("0:1:0"), "0:1:0");
  assert.notEqual(canonicalVersion("0:1:0"), canonicalVersion("1:0"));
  assert.notEqual(compareVersions("0:1:0", "1:0"), 0);
  // The zero epoch and zero revision stay only where the split needs them.
  assert.equal(canonicalVersion("00:1:00-00"), "0:1:0");
  assert.equal(canonicalVersion("1.0-01-00"), "1.0-1-0");
  assert.equal(canonicalVersion("1.0--1"), "1.0-0-1");
});

Deno.test("a part ending in a separator or ~ or + is given a final 0, one ending in a letter is not", () => {
  // dpkg holds `X` and `X0` equal when X ends in a non-digit; one of them is the key.
  assert.equal(canonicalVersion("1."), "1.0");
  assert.equal(canonicalVersion("1.0~"), "1.0~0");
  assert.equal(canonicalVersion("1.0~00"), "1.0~0");
  assert.equal(canonicalVersion("1.0+"), "1.0+0");
  assert.equal(canonicalVersion("1.0-1~"), "1.0-1~0");
  assert.equal(canonicalVersion("1.0rc"), "1.0rc");
  assert.equal(canonicalVersion("1.0rc0"), "1.0rc");
});

Deno.test("a version dpkg accepts with a : in its revision keeps its 0: epoch, so it parses again", () => {
  // Not a valid version (dpkg warns) but dpkg compares it; without the epoch
  // `1.0-a:b` would split at its `:` and dpkg would refuse it.
  assert.equal(canonicalVersion("0:1.0-a:b"), "0:1.0-a:b");
  assert.equal(canonicalVersion("00:1.0-a:b0"), "0:1.0-a:b");
  assert.equal(compareVersions("0:1.0-a:b", canonicalVersion("0:1.0-a:b")), 0);
});

Deno.test("canonicalVersion refuses what dpkg refuses outright", () => {
  for (const v of ["", " ", "1.0-", ":1.0", "a:1.0", "1:", "-1", "1 0"]) {
    assert.throws(() => canonicalVersion(v), VersionError, JSON.stringify(v));
  }
});
