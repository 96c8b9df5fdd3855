import assert from "node:assert/strict";
import { ENV_OPTION, helpText, parseCommandLine } from "../../tasks/lib/cli.ts";

const spec = {
  name: "publish",
  summary: "Publish a .deb to the repository",
  description: "Records the package and rebuilds the indexes.",
  positionals: [{ name: "FILE", description: "the .deb to publish", required: true }],
  options: {
    env: ENV_OPTION,
    "dry-run": { type: "boolean", description: "show what would change" },
    arch: { type: "string", valueName: "ARCH", description: "architecture", default: "amd64" },
    tag: { type: "string", list: true, description: "a tag" },
  },
  examples: ["deno task publish --env dev kiro_1.0_amd64.deb"],
} as const;

function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const parsed = parseCommandLine(args, spec, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  return { parsed, out: out.join(""), err: err.join("") };
}

Deno.test("declared options parse into typed values with defaults", () => {
  const { parsed, out, err } = run([
    "--env",
    "dev",
    "--dry-run",
    "--tag",
    "a,b",
    "x.deb",
  ]);
  assert.equal(parsed.exitCode, undefined);
  assert.equal(parsed.values.env, "dev");
  assert.equal(parsed.values["dry-run"], true);
  assert.equal(parsed.values.arch, "amd64");
  assert.deepEqual(parsed.values.tag, ["a", "b"]);
  assert.deepEqual(parsed.positionals, ["x.deb"]);
  assert.equal(out + err, "");
});

Deno.test("absent options take their defaults: false, [] or undefined", () => {
  const { parsed } = run(["-e", "prod", "x.deb"]);
  assert.equal(parsed.values.env, "prod");
  assert.equal(parsed.values["dry-run"], false);
  assert.deepEqual(parsed.values.tag, []);
  const { parsed: bare } = run(["x.deb"]);
  assert.equal(bare.values.env, undefined);
});

Deno.test("--help prints usage, description, arguments, options and examples, and exits 0", () => {
  for (const flag of ["--help", "-h"]) {
    const { parsed, out, err } = run([flag]);
    assert.equal(parsed.exitCode, 0);
    assert.equal(err, "");
    assert.match(out, /^Usage: deno task publish \[OPTIONS\] FILE \[ENV\]\n/);
    assert.match(out, /Publish a \.deb to the repository/);
    assert.match(out, /Records the package and rebuilds the indexes\./);
    assert.match(
      out,
      /Arguments:\n {2}FILE {2}the \.deb to publish\n {2}ENV {3}local, dev, prod: the same as --env ENV/,
    );
    assert.match(out, /-e, --env ENV +environment: local, dev or prod/);
    assert.match(out, / {4}--dry-run +show what would change/);
    assert.match(out, /--arch ARCH +architecture \(default amd64\)/);
    assert.match(out, /--tag VALUE +a tag \(comma-separated list\)/);
    assert.match(out, /-h, --help +show this help and exit/);
    assert.match(out, /Examples:\n {2}deno task publish --env dev kiro_1\.0_amd64\.deb/);
  }
  assert.equal(helpText(spec), run(["--help"]).out);
});

Deno.test("an unknown option is a usage error with exit code 2 and a pointer to --help", () => {
  const { parsed, out, err } = run(["--force", "x.deb"]);
  assert.equal(parsed.exitCode, 2);
  assert.equal(out, "");
  assert.match(
    err,
    /^publish: Unknown option '--force'\nRun "deno task publish --help" for usage\./,
  );
});

Deno.test("bad values, missing values and wrong argument counts exit with code 2", () => {
  assert.match(
    run(["--env", "qa", "x"]).err,
    /Option --env must be one of local, dev, prod \(got "qa"\)/,
  );
  assert.match(run(["x", "--env"]).err, /Option '-e, --env <value>' argument missing/);
  assert.match(run([]).err, /Missing argument FILE/);
  assert.match(run(["a", "b"]).err, /Unexpected argument "b": publish takes at most 1/);
  for (const args of [["--env", "qa", "x"], ["x", "--env"], [], ["a", "b"]]) {
    assert.equal(run(args).parsed.exitCode, 2);
  }
});

Deno.test("a command without positionals refuses any", () => {
  const err: string[] = [];
  const parsed = parseCommandLine(["extra"], { name: "dev", summary: "Run", options: {} }, {
    stderr: (t) => err.push(t),
  });
  assert.equal(parsed.exitCode, 2);
  assert.match(err.join(""), /Unexpected argument "extra": dev takes no arguments/);
});

Deno.test("a variadic last positional takes every remaining argument, and still needs one", () => {
  const spec = {
    name: "add-deb",
    summary: "Publish",
    positionals: [{ name: "FILE...", description: "files", required: true, variadic: true }],
    options: { env: { type: "string" as const, description: "environment" } },
  };
  const many = parseCommandLine(["a.deb", "--env", "dev", "b.deb", "c.deb"], spec);
  assert.equal(many.exitCode, undefined);
  assert.deepEqual(many.positionals, ["a.deb", "b.deb", "c.deb"]);
  assert.equal(many.values.env, "dev");
  const err: string[] = [];
  const none = parseCommandLine(["--env", "dev"], spec, { stderr: (t) => err.push(t) });
  assert.equal(none.exitCode, 2);
  assert.match(err.join(""), /Missing argument FILE\.\.\./);
});

Deno.test("a task with --env takes the environment as a positional ENV too, in any place", () => {
  for (const args of [["prod", "x.deb"], ["x.deb", "prod"], ["--env", "prod", "x.deb", "prod"]]) {
    const { parsed, err } = run(args);
    assert.equal(err, "");
    assert.equal(parsed.values.env, "prod");
    assert.deepEqual(parsed.positionals, ["x.deb"]);
  }
});

Deno.test("an environment given twice, differently, is a usage error", () => {
  for (const args of [["--env", "dev", "x.deb", "prod"], ["dev", "x.deb", "prod"]]) {
    const { parsed, err } = run(args);
    assert.equal(parsed.exitCode, 2);
    assert.match(err, /The environment is given twice: (--env )?dev and prod; give it once/);
  }
});

Deno.test("a positional ENV must be one of the --env option's choices", () => {
  const stackOnly = {
    name: "preflight",
    summary: "Check",
    options: { env: { ...ENV_OPTION, choices: ["dev", "prod"], description: "the stack" } },
  };
  const err: string[] = [];
  const parsed = parseCommandLine(["local"], stackOnly, { stderr: (t) => err.push(t) });
  assert.equal(parsed.exitCode, 2);
  assert.match(err.join(""), /Option --env must be one of dev, prod \(got "local"\)/);
});

Deno.test("a task without --env says so in --help and refuses a positional ENV", () => {
  const noEnv = { name: "bundle", summary: "Build", options: {} };
  assert.match(
    helpText(noEnv),
    /Environment: none; this task takes no --env and no ENV argument\./,
  );
  const err: string[] = [];
  const parsed = parseCommandLine(["prod"], noEnv, { stderr: (t) => err.push(t) });
  assert.equal(parsed.exitCode, 2);
  assert.match(err.join(""), /Unexpected argument "prod": bundle acts on no environment; drop it/);
});

Deno.test("a list option splits on commas and checks each item against its choices", () => {
  const spec = {
    name: "preflight",
    summary: "Check",
    options: {
      only: { type: "string" as const, list: true, choices: ["fmt", "lint"], description: "steps" },
    },
  };
  assert.deepEqual(parseCommandLine(["--only", "fmt,lint"], spec).values.only, ["fmt", "lint"]);
  const err: string[] = [];
  assert.equal(
    parseCommandLine(["--only", "fmt,test"], spec, { stderr: (t) => err.push(t) }).exitCode,
    2,
  );
  assert.match(err.join(""), /Option --only must be one of fmt, lint \(got "test"\)/);
});
