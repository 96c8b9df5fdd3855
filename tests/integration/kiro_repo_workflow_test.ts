/**
 * `deno task build-kiro-repo` against a local test stack (dynalite + s3rver):
 * the whole workflow, re-runs, refusals, and each step failing (failures
 * injected through the dependencies the workflow receives), each with its
 * message and exit code and nothing half-recorded.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { type KiroRepoWorkflowDeps } from "../../tasks/kiro_repo/workflow.ts";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import { parseStanzas } from "../../lambda/repo/stanza.ts";
import { generateSigningKey, publicKeyring, readSigningKeys } from "../../lambda/signing/keys.ts";
import { KIRO_REPO_EXIT_CODES, runBuildKiroRepo } from "../../tasks/build_kiro_repo.ts";
import { type TestStack, withTestStack } from "../support/stack.ts";

const codes = KIRO_REPO_EXIT_CODES;

interface Run {
  code: number;
  log: string;
  out: string;
}

async function run(
  stack: TestStack,
  args: string[],
  options: {
    wrapDeps?: (deps: KiroRepoWorkflowDeps) => KiroRepoWorkflowDeps;
    outputs?: StackOutputs;
  } = {},
): Promise<Run> {
  const log: string[] = [];
  const out: string[] = [];
  const outputs = options.outputs ?? stack.outputs;
  const code = await runBuildKiroRepo(["--verify-timeout", "0", ...args], {
    log: (line) => log.push(line),
    out: (line) => out.push(line),
    resolve: (name) => Promise.resolve({ name, outputs, close: () => Promise.resolve() }),
    verifyIntervalMs: 10,
    ...(options.wrapDeps !== undefined ? { wrapDeps: options.wrapDeps } : {}),
  });
  return { code, log: log.join("\n"), out: out.join("\n") };
}

function describe(result: Run): string {
  return `exit ${result.code}\n--- log\n${result.log}\n--- out\n${result.out}`;
}

async function bucketKeys(stack: TestStack): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of objectStoreFor(stack.outputs, stack.clients).list("")) {
    keys.push(object.key);
  }
  return keys.sort();
}

async function kiroRepoRecords(stack: TestStack): Promise<PackageRecord[]> {
  return (await stack.store.listAll()).filter((record) => record.package_name === "kiro-repo");
}

async function get(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `objects` with another `put`. */
function withPut(objects: ObjectStore, put: ObjectStore["put"]): ObjectStore {
  return {
    put,
    head: (key) => objects.head(key),
    get: (key) => objects.get(key),
    read: (key) => objects.read(key),
    list: (prefix) => objects.list(prefix),
    delete: (key) => objects.delete(key),
    copy: (source, target, options) => objects.copy(source, target, options),
  };
}

/** A `wrapDeps` that lets every upload through and notes its key in `puts`. */
function recordingPuts(puts: string[]): (deps: KiroRepoWorkflowDeps) => KiroRepoWorkflowDeps {
  return (deps) => ({
    ...deps,
    objects: withPut(deps.objects, (key, body, options) => {
      puts.push(key);
      return deps.objects.put(key, body, options);
    }),
  });
}

Deno.test("build-kiro-repo builds, uploads, records, rebuilds and verifies kiro-repo on the local stack", async () => {
  await withTestStack(async (stack) => {
    const started = new Date();
    const result = await run(stack, ["--env", "local"]);
    assert.equal(result.code, 0, describe(result));
    for (
      const step of [
        "[config]",
        "[build]",
        "[check]",
        "[upload]",
        "[record]",
        "[rebuild]",
        "[verify]",
      ]
    ) {
      assert.ok(result.log.includes(step), `progress for ${step}\n${describe(result)}`);
    }

    const [record, ...others] = await kiroRepoRecords(stack);
    assert.equal(others.length, 0);
    assert.ok(record !== undefined);
    assert.equal(record.package_id, "kiro-repo#1.0");
    assert.equal(record.package_type, "build_script");
    assert.equal(record.architecture, "all");
    assert.equal(record.pool_key, "pool/main/k/kiro-repo/kiro-repo_1.0_all.deb");
    assert.equal(record.actual_filename, "kiro-repo_1.0_all.deb");
    assert.equal(record.deb_url, `s3://${stack.outputs.bucketName}/${record.pool_key}`);
    assert.equal(record.section, "misc");
    assert.equal(record.priority, "optional");
    assert.equal(record.maintainer, "Kiro Team <support@kiro.dev>");
    assert.equal(record.homepage, "https://kiro.dev");
    assert.match(record.description, /^Kiro IDE repository configuration\n /);
    assert.equal(record.control.Package, "kiro-repo");
    assert.equal(record.control.Version, "1.0");
    assert.match(record.control["Installed-Size"] ?? "", /^\d+$/);
    assert.match(record.md5_hash, /^[0-9a-f]{32}$/);
    assert.match(record.sha1_hash, /^[0-9a-f]{40}$/);
    const stamp = new Date(record.processed_timestamp);
    assert.ok(stamp >= new Date(started.getTime() - 1000) && stamp <= new Date(), "timestamp now");
    assert.equal(record.pub_date, "2026-11-22T12:00:00.000Z");

    // What apt would read, through the repository URL.
    const base = stack.outputs.repoUrl;
    const deb = await get(`${base}/${record.pool_key}`);
    assert.equal(deb.byteLength, record.file_size);
    assert.equal(await sha256(deb), record.sha256_hash);
    assert.deepEqual(await get(`${base}/kiro-repo.deb`), deb);
    for (const arch of ["amd64", "arm64"]) {
      const text = new TextDecoder().decode(
        await get(`${base}/dists/stable/main/binary-${arch}/Packages`),
      );
      const stanza = parseStanzas(text).find((fields) => fields.Package === "kiro-repo");
      assert.equal(stanza?.SHA256, record.sha256_hash, arch);
      assert.equal(stanza?.Filename, record.pool_key, arch);
    }
    // The package points at this repository and ships its published keyring.
    const keyring = await get(`${base}/kiro-archive-keyring.pgp`);
    const keys = await readSigningKeys(await Deno.readTextFile(stack.outputs.signingKeySecretId));
    assert.deepEqual(keyring, publicKeyring(keys));
    assert.match(result.out, /Published kiro-repo#1\.0 to http:\/\/127\.0\.0\.1:/);
  });
});

Deno.test("build-kiro-repo run again after success changes nothing and succeeds", async () => {
  await withTestStack(async (stack) => {
    const first = await run(stack, ["--env", "local"]);
    assert.equal(first.code, 0, describe(first));
    const before = await kiroRepoRecords(stack);
    const puts: string[] = [];
    const second = await run(stack, ["--env", "local"], {
      wrapDeps: recordingPuts(puts),
    });
    assert.equal(second.code, 0, describe(second));
    assert.deepEqual(puts, [], "nothing uploaded again");
    assert.match(second.log, /already recorded \(same bytes\)/);
    assert.match(second.log, /was already recorded/);
    assert.match(second.out, /already uploaded, already recorded/);
    assert.deepEqual(await kiroRepoRecords(stack), before, "the record is untouched");
  });
});

Deno.test("build-kiro-repo --dry-run builds and checks but writes nothing", async () => {
  await withTestStack(async (stack) => {
    const output = join(stack.dir, "built.deb");
    const result = await run(stack, ["--env", "local", "--dry-run", "--output", output]);
    assert.equal(result.code, 0, describe(result));
    assert.match(result.out, /^Dry run: would publish kiro-repo#1\.0 .*nothing was written$/);
    assert.deepEqual(await bucketKeys(stack), []);
    assert.deepEqual(await stack.store.listAll(), []);
    const bytes = await Deno.readFile(output);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "!<arch>\n");
  });
});

Deno.test("build-kiro-repo --channel beta records it in beta and verifies it there; an unpublished channel is a usage error", async () => {
  await withTestStack(async (stack) => {
    const result = await run(stack, ["--env", "local", "--channel", "beta"]);
    assert.equal(result.code, 0, describe(result));
    const [record] = await kiroRepoRecords(stack);
    assert.deepEqual(record?.channels, ["beta"]);
    // Verified through beta's index: stable's does not list it.
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const stable = new TextDecoder().decode(
      await objects.get("dists/stable/main/binary-amd64/Packages"),
    );
    assert.doesNotMatch(stable, /Package: kiro-repo/);
    assert.match(result.log, /\[verify\] kiro-repo 1\.0 is published/);
    assert.equal(
      await objectStoreFor(stack.outputs, stack.clients).head("kiro-repo.deb"),
      undefined,
    );

    const refused = await run(stack, ["--env", "local", "--channel", "nightly"]);
    assert.equal(refused.code, KIRO_REPO_EXIT_CODES.usage, describe(refused));
    assert.match(refused.log, /--channel nightly: local publishes stable, beta/);
  });
});

Deno.test("build-kiro-repo --version builds and publishes a newer version over an older one", async () => {
  await withTestStack(async (stack) => {
    assert.equal((await run(stack, ["--env", "local"])).code, 0);
    const newer = await run(stack, ["--env", "local", "--version", "1.1"]);
    assert.equal(newer.code, 0, describe(newer));
    assert.deepEqual((await kiroRepoRecords(stack)).map((record) => record.version), [
      "1.0",
      "1.1",
    ]);
    const latest = await get(`${stack.outputs.repoUrl}/kiro-repo.deb`);
    const record =
      (await stack.store.get({ package_name: "kiro-repo", version: "1.1", architecture: "all" }))!;
    assert.equal(await sha256(latest), record.sha256_hash);

    const older = await run(stack, ["--env", "local", "--version", "1.0"]);
    assert.equal(older.code, codes.check, describe(older));
    assert.match(older.log, /kiro-repo 1\.1 is already recorded.*build a version newer than 1\.1/);
  });
});

Deno.test("build-kiro-repo refuses a version recorded with other bytes before uploading anything", async () => {
  await withTestStack(async (stack) => {
    // kiro-repo 1.0 published with another keyring: the same version, other bytes.
    const other = await generateSigningKey({
      name: "Other",
      email: "other@example.com",
      type: "ed25519",
    });
    const keyringFile = join(stack.dir, "other.pgp");
    await Deno.writeFile(
      keyringFile,
      publicKeyring(await readSigningKeys(other.armoredPrivateKey)),
    );
    const first = await run(stack, [
      "--env",
      "local",
      "--keyring",
      keyringFile,
      "--verify-timeout",
      "0",
    ]);
    // Its verification fails (the repository is signed by the stack's key), but it is recorded.
    assert.equal(first.code, codes.verify, describe(first));
    assert.match(first.log, /kiro-archive-keyring\.pgp differs from the keyring in the package/);
    const recorded =
      (await stack.store.get({ package_name: "kiro-repo", version: "1.0", architecture: "all" }))!;
    const pool = await get(`${stack.outputs.repoUrl}/${recorded.pool_key}`);

    const puts: string[] = [];
    const second = await run(stack, ["--env", "local"], {
      wrapDeps: recordingPuts(puts),
    });
    assert.equal(second.code, codes.check, describe(second));
    assert.match(
      second.log,
      /Cannot record kiro-repo 1\.0 \(all\): kiro-repo 1\.0 \(all\) is already recorded with other content \(differs in .*sha256_hash.*\).*Nothing was uploaded/s,
    );
    assert.deepEqual(puts, []);
    assert.deepEqual(await get(`${stack.outputs.repoUrl}/${recorded.pool_key}`), pool);
    assert.deepEqual(
      await stack.store.get({ package_name: "kiro-repo", version: "1.0", architecture: "all" }),
      recorded,
    );
  });
});

Deno.test("build-kiro-repo stops at a failed upload with nothing recorded, and a re-run finishes", async () => {
  await withTestStack(async (stack) => {
    const failed = await run(stack, ["--env", "local"], {
      wrapDeps: (deps) => ({
        ...deps,
        objects: withPut(
          deps.objects,
          () => Promise.reject(new Error("S3 answered 503 Slow Down")),
        ),
      }),
    });
    assert.equal(failed.code, codes.upload, describe(failed));
    assert.match(
      failed.log,
      /Cannot upload pool\/main\/k\/kiro-repo\/kiro-repo_1\.0_all\.deb: S3 answered 503 Slow Down\. Nothing was recorded; run the task again/,
    );
    assert.deepEqual(await stack.store.listAll(), []);
    assert.deepEqual(await bucketKeys(stack), []);

    const again = await run(stack, ["--env", "local"]);
    assert.equal(again.code, 0, describe(again));
    assert.equal((await kiroRepoRecords(stack)).length, 1);
  });
});

Deno.test("build-kiro-repo stops at a failed record leaving neither pool object nor record, and a re-run finishes", async () => {
  await withTestStack(async (stack) => {
    const failed = await run(stack, ["--env", "local"], {
      wrapDeps: (deps) => ({
        ...deps,
        store: {
          get: (identity) => deps.store.get(identity),
          versionRecords: (identity) => deps.store.versionRecords(identity),
          listByName: (name) => deps.store.listByName(name),
          put: () => Promise.reject(new Error("ProvisionedThroughputExceededException")),
        },
      }),
    });
    assert.equal(failed.code, KIRO_REPO_EXIT_CODES.record, describe(failed));
    assert.match(
      failed.log,
      /Cannot record kiro-repo#1\.0: ProvisionedThroughputExceededException\. Nothing new is in the pool or the table; run the task again/,
    );
    assert.deepEqual(await stack.store.listAll(), []);
    assert.deepEqual(
      await bucketKeys(stack),
      [],
      "the intake took back the copy and the staging object",
    );

    const again = await run(stack, ["--env", "local"]);
    assert.equal(again.code, 0, describe(again));
    assert.match(
      again.log,
      /Uploading pool\/main\/k\/kiro-repo\/kiro-repo_1\.0_all\.deb \(via staging\/kiro-repo\//,
    );
    assert.match(again.log, /Recorded kiro-repo#1\.0/);
  });
});

Deno.test("build-kiro-repo records without uploading again when the pool already holds the bytes", async () => {
  await withTestStack(async (stack) => {
    // A crash between the intake's copy and its record leaves the exact bytes at the pool key.
    const first = await run(stack, ["--env", "local"]);
    assert.equal(first.code, 0, describe(first));
    await stack.clearTable();
    const puts: string[] = [];
    const again = await run(stack, ["--env", "local"], { wrapDeps: recordingPuts(puts) });
    assert.equal(again.code, 0, describe(again));
    assert.deepEqual(puts.filter((key) => key.endsWith(".deb")), [], "no .deb uploaded again");
    assert.match(again.log, /already uploaded \(same bytes\)/);
    assert.match(again.log, /Recorded kiro-repo#1\.0/);
  });
});

Deno.test("build-kiro-repo reports a failed rebuild with its reason, and a re-run publishes", async () => {
  await withTestStack(async (stack) => {
    const failed = await run(stack, ["--env", "local"], {
      wrapDeps: (deps) => ({
        ...deps,
        rebuild: () =>
          Promise.reject(new Error("The force rebuild in the Lambda x failed (status 500): boom")),
      }),
    });
    assert.equal(failed.code, codes.rebuild, describe(failed));
    assert.match(
      failed.log,
      /The force rebuild failed: The force rebuild in the Lambda x failed \(status 500\): boom\. kiro-repo#1\.0 is uploaded and recorded; run the task again/,
    );
    assert.equal((await kiroRepoRecords(stack)).length, 1);
    assert.ok(!(await bucketKeys(stack)).includes("kiro-repo.deb"), "nothing published yet");

    const again = await run(stack, ["--env", "local"]);
    assert.equal(again.code, 0, describe(again));
    assert.ok((await bucketKeys(stack)).includes("kiro-repo.deb"));
  });
});

Deno.test("build-kiro-repo fails verification when the repository URL does not serve the new version", async () => {
  await withTestStack(async (stack) => {
    let attempts = 0;
    const failed = await run(stack, ["--env", "local", "--verify-timeout", "2"], {
      wrapDeps: (deps) => ({
        ...deps,
        // A CDN still serving the old convenience copy.
        fetch: (url) => {
          if (url.endsWith("/kiro-repo.deb")) {
            attempts++;
            return Promise.resolve(new Response("stale", { status: 200 }));
          }
          return fetch(url);
        },
      }),
    });
    assert.equal(failed.code, codes.verify, describe(failed));
    assert.match(
      failed.log,
      /does not serve kiro-repo 1\.0 as expected after \d+ attempt\(s\):\n {2}- http:\/\/127\.0\.0\.1:\d+\/[^/]+\/kiro-repo\.deb is not kiro-repo 1\.0/,
    );
    assert.ok(attempts >= 2, `retried (${attempts} attempts)`);
    assert.equal((await kiroRepoRecords(stack)).length, 1, "the record stays");
  });
});

Deno.test("build-kiro-repo verification waits for a repository that catches up", async () => {
  await withTestStack(async (stack) => {
    let stale = 3;
    const result = await run(stack, ["--env", "local", "--verify-timeout", "5"], {
      wrapDeps: (deps) => ({
        ...deps,
        fetch: (url) => {
          if (url.endsWith("/InRelease") && stale > 0) {
            stale--;
            return Promise.resolve(new Response("not found", { status: 404 }));
          }
          return fetch(url);
        },
      }),
    });
    assert.equal(result.code, 0, describe(result));
    assert.match(result.log, /Not there yet \(Cannot read .*InRelease: GET .* answered 404\)/);
    assert.equal(stale, 0);
  });
});

Deno.test("build-kiro-repo stops on an invalid configuration before building anything", async () => {
  await withTestStack(async (stack) => {
    const file = join(stack.dir, "bad.json");
    const output = join(stack.dir, "never.deb");
    const config = JSON.parse(
      await Deno.readTextFile(new URL("../../kiro-repo-deb/config/local.json", import.meta.url)),
    );
    delete config.maintainer;
    config.repo_url = "ftp://example.com";
    config.colour = "blue";
    await Deno.writeTextFile(file, JSON.stringify(config));
    const result = await run(stack, ["--env", "local", "--config", file, "--output", output]);
    assert.equal(result.code, codes.config, describe(result));
    assert.match(result.log, new RegExp(`Cannot use ${file}:`));
    assert.match(result.log, /- maintainer is required/);
    assert.match(result.log, /- repo_url is not valid \(got "ftp:\/\/example\.com"\)/);
    assert.match(result.log, /- colour is not a known field/);
    assert.ok(!result.log.includes("[build]"), "nothing built");
    await assert.rejects(Deno.stat(output), Deno.errors.NotFound);
    assert.deepEqual(await bucketKeys(stack), []);

    await Deno.writeTextFile(file, "{ not json");
    const broken = await run(stack, ["--env", "local", "--config", file]);
    assert.equal(broken.code, codes.config, describe(broken));
    assert.match(broken.log, /Cannot use .*bad\.json: it is not valid JSON/);

    const version = await run(stack, ["--env", "local", "--version", "1.0-1"]);
    assert.equal(version.code, codes.config, describe(version));
    assert.match(version.log, /Cannot build --version 1\.0-1: it must be a native Debian version/);
  });
});

/** Runs build-kiro-repo with an environment that must not be reached. */
async function runBeforeEnvironment(args: string[]): Promise<Run> {
  const log: string[] = [];
  const out: string[] = [];
  const code = await runBuildKiroRepo(args, {
    log: (line) => log.push(line),
    out: (line) => out.push(line),
    resolve: () => Promise.reject(new Error("the environment was resolved")),
  });
  return { code, log: log.join("\n"), out: out.join("\n") };
}

Deno.test("build-kiro-repo --keyring given a text file names the file and asks for a binary keyring, before anything else", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-keyring-" });
  try {
    const text = join(dir, "keys.txt");
    await Deno.writeTextFile(text, "these are not keys\n");
    const result = await runBeforeEnvironment(["--env", "local", "--keyring", text]);
    assert.equal(result.code, codes.build, describe(result));
    assert.equal(
      result.log.split("\n").at(-1),
      `build-kiro-repo: Cannot use --keyring ${text}: it is not a binary OpenPGP keyring; give ` +
        "the public keys as gpg --export KEYID writes them",
    );

    const absent = join(dir, "absent.pgp");
    const missing = await runBeforeEnvironment(["--env", "local", "--keyring", absent]);
    assert.equal(missing.code, codes.build, describe(missing));
    assert.match(missing.log, new RegExp(`Cannot read --keyring ${absent}: no such file; give`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build-kiro-repo --output in a folder that does not exist is refused before building", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-output-" });
  try {
    const output = join(dir, "missing", "kiro-repo.deb");
    const result = await runBeforeEnvironment(["--env", "local", "--output", output]);
    assert.equal(result.code, codes.usage, describe(result));
    assert.equal(
      result.log.split("\n").at(-1),
      `build-kiro-repo: Cannot write --output ${output}: the folder ${
        join(dir, "missing")
      } does not exist; create it (mkdir -p ${join(dir, "missing")}) or choose a path in an ` +
        "existing folder",
    );
    assert.ok(!result.log.includes("[build]"), "nothing built");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build-kiro-repo refuses a dev configuration whose repo_url is not the stack's repository URL", async () => {
  await withTestStack(async (stack) => {
    const outputs: StackOutputs = { ...stack.outputs, environment: "dev" };
    const result = await run(stack, ["--env", "dev"], { outputs });
    assert.equal(result.code, codes.config, describe(result));
    assert.match(
      result.log,
      /repo_url is https:\/\/apt-dev\.kiro\.dev but the dev stack serves the repository at http:\/\/127\.0\.0\.1:\d+\/.*; set repo_url to the stack output repoUrl/,
    );
    assert.deepEqual(await bucketKeys(stack), []);
  });
});

Deno.test("build-kiro-repo --help explains the workflow and exit codes; bad options are usage errors", async () => {
  const out: string[] = [];
  const log: string[] = [];
  const io = { out: (line: string) => out.push(line), log: (line: string) => log.push(line) };
  assert.equal(await runBuildKiroRepo(["--help"], io), 0);
  const help = out.join("\n");
  for (
    const text of ["--env ENV", "--version V", "--dry-run", "--keyring FILE", "Exit codes: 0 done"]
  ) {
    assert.ok(help.includes(text), `${text} in\n${help}`);
  }
  for (
    const args of [["--bogus"], ["--env", "staging"], ["--verify-timeout", "soon"], ["extra"]]
  ) {
    log.length = 0;
    assert.equal(await runBuildKiroRepo(args, io), codes.usage, args.join(" "));
    assert.ok(log.length > 0, "says what is wrong");
  }
});

Deno.test("during a key rotation kiro-repo ships both keys and verifies against the doubly signed repository", async () => {
  const generated = await Promise.all([
    generateSigningKey({ name: "Kiro Old", email: "old@kiro.dev", type: "ed25519" }),
    generateSigningKey({ name: "Kiro New", email: "new@kiro.dev", type: "rsa3072" }),
  ]);
  await withTestStack(async (stack) => {
    const result = await run(stack, ["--env", "local"]);
    assert.equal(result.code, 0, describe(result));
    const fingerprints = generated.map((key) => key.fingerprint);
    assert.match(result.log, new RegExp(`keys ${fingerprints.join(", ")}`));
    assert.match(result.log, new RegExp(`signed by ${fingerprints.join(", ")}\\)`));
    const keys = await readSigningKeys(generated.map((key) => key.armoredPrivateKey));
    assert.deepEqual(
      await get(`${stack.outputs.repoUrl}/kiro-archive-keyring.pgp`),
      publicKeyring(keys),
    );
  }, {
    ensureSigningKey: (path) =>
      Deno.writeTextFile(path, generated.map((key) => key.armoredPrivateKey).join("\n"), {
        mode: 0o600,
      }),
  });
});
