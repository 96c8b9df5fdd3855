import assert from "node:assert/strict";
import { addDeb } from "../../tasks/lifecycle/add_deb.ts";
import { InstrumentedObjectStore } from "../support/memory_object_store.ts";
import { PoolVerificationError } from "../../lambda/publish/publisher.ts";
import { forceRebuild, type RebuildDependencies } from "../../lambda/rebuild.ts";
import { objectStoreFor, rebuildDependencies } from "../../lambda/dependencies.ts";
import { acquireLease, LeaseBusyError, releaseLease } from "../../lambda/store/lease.ts";
import { awsClients } from "../../lambda/aws/clients.ts";
import { PackageStore } from "../../lambda/store/package_store.ts";
import { startLocalStack, writeStackRecord } from "../../tasks/lib/local_stack.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";
import { type TestStack, withTestStack } from "../support/stack.ts";

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

async function deps(stack: TestStack, extra: Partial<RebuildDependencies> = {}) {
  return {
    ...rebuildDependencies(stack.outputs, stack.clients, { keys: await testSigningKeys() }),
    ...extra,
  };
}

async function seed(stack: TestStack, count: number) {
  const objects = objectStoreFor(stack.outputs, stack.clients);
  const items = Array.from({ length: count }, (_, i) =>
    syntheticRecord({
      name: i % 3 === 0 ? "kiro-repo" : `pkg${i % 4}`,
      version: `1.${i}`,
      architecture: ["amd64", "arm64", "all"][i % 3]!,
    }));
  const records = await seedPool(objects, items);
  for (const record of records) await stack.store.put(record);
  return records;
}

Deno.test("a force rebuild publishes every record of the table", async () => {
  await withTestStack(async (stack) => {
    const records = await seed(stack, 7);
    const result = await forceRebuild(await deps(stack));
    assert.equal(result.packages, 7);
    assert.ok(result.written > 10);
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const text = new TextDecoder().decode(
      await objects.get("dists/stable/main/binary-amd64/Packages"),
    );
    for (const record of records.filter((r) => r.architecture !== "arm64")) {
      assert.ok(text.includes(`Filename: ${record.pool_key}\n`), record.package_id);
    }
    // Served over HTTP by the stand-in, as apt will fetch it.
    const response = await fetch(`${stack.outputs.repoUrl}/dists/stable/InRelease`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /BEGIN PGP SIGNED MESSAGE/);
  });
});

Deno.test("two rebuilds of the same table give identical indexes; the second writes only Release files", async () => {
  await withTestStack(async (stack) => {
    await seed(stack, 6);
    const objects = objectStoreFor(stack.outputs, stack.clients);
    await forceRebuild(await deps(stack));
    const snapshot = async () => {
      const files: Record<string, Uint8Array | undefined> = {};
      for await (const item of objects.list("dists/")) {
        if (/\/Packages/.test(item.key)) files[item.key] = await objects.get(item.key);
      }
      return files;
    };
    const before = await snapshot();
    const counted = new InstrumentedObjectStore(objects);
    const second = await forceRebuild(await deps(stack, { objects: counted }));
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(counted.writes.map((w) => w.key).sort(), [
      "dists/beta/InRelease",
      "dists/beta/Release",
      "dists/beta/Release.gpg",
      "dists/stable/InRelease",
      "dists/stable/Release",
      "dists/stable/Release.gpg",
    ]);
    assert.equal(second.written, 6);
    assert.equal(second.pruned, 0);
  });
});

Deno.test("no request to S3 sets an ACL (the bucket is private, served by CloudFront)", async () => {
  await withTestStack(async (stack) => {
    const inputs: { command: string; input: Record<string, unknown> }[] = [];
    stack.clients.s3.middlewareStack.add(
      (next, context) => (args) => {
        inputs.push({
          command: String(context.commandName),
          input: args.input as Record<string, unknown>,
        });
        return next(args);
      },
      { step: "initialize", name: "recordInputs" },
    );
    await seed(stack, 4);
    await forceRebuild(await deps(stack));
    const writes = inputs.filter((i) => /Put|Copy|Upload/.test(i.command));
    assert.ok(writes.length > 10);
    for (const { command, input } of writes) {
      for (const field of ["ACL", "GrantRead", "GrantFullControl", "GrantReadACP"]) {
        assert.equal(input[field], undefined, `${command} ${String(input.Key)} sets ${field}`);
      }
    }
    stack.clients.s3.middlewareStack.remove("recordInputs");
  });
});

Deno.test("a rebuild refuses a record without its pool object, and releases the lease", async () => {
  await withTestStack(async (stack) => {
    await seed(stack, 2);
    await stack.store.put(
      syntheticRecord({ name: "ghost", version: "1", architecture: "amd64" }).record,
    );
    await assert.rejects(
      async () => forceRebuild(await deps(stack)),
      (error: unknown) =>
        error instanceof PoolVerificationError &&
        /ghost#1 .* not in the bucket/.test(error.message),
    );
    const lease = await acquireLease({
      client: stack.clients.dynamo,
      tableName: stack.outputs.tableName,
    });
    await releaseLease(lease);
  });
});

Deno.test("a rebuild waits for the lease, or fails clearly when told not to wait", async () => {
  await withTestStack(async (stack) => {
    await seed(stack, 2);
    const table = { client: stack.clients.dynamo, tableName: stack.outputs.tableName };
    const lease = await acquireLease(table, { label: "someone else" });
    await assert.rejects(
      async () => forceRebuild(await deps(stack, { leaseWaitMs: 0 })),
      (error: unknown) => error instanceof LeaseBusyError && /someone else/.test(error.message),
    );
    const waiting = forceRebuild(await deps(stack, { leaseWaitMs: 20_000 }));
    await new Promise((resolve) => setTimeout(resolve, 600));
    await releaseLease(lease);
    assert.equal((await waiting).packages, 2);
  });
});

Deno.test("ten add-debs of different packages started at once all end up published", async () => {
  await withTestStack(async (stack) => {
    const keys = await testSigningKeys();
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const names = Array.from({ length: 10 }, (_, i) => `parallel${i}`);
    const debs = await Promise.all(
      names.map((name) => makeTestDeb({ name, version: "1.0", architecture: "amd64" })),
    );
    await Promise.all(debs.map(async (bytes, i) => {
      await addDeb({
        name: `${names[i]}_1.0_amd64.deb`,
        url: `file:///tmp/${names[i]}_1.0_amd64.deb`,
        open: () => streamOf(bytes),
      }, { objects, records: stack.store });
      await forceRebuild({
        ...rebuildDependencies(stack.outputs, stack.clients, { keys }),
        leaseWaitMs: 120_000,
      });
    }));
    const text = new TextDecoder().decode(
      await objects.get("dists/stable/main/binary-amd64/Packages"),
    );
    for (const name of names) assert.ok(text.includes(`Package: ${name}\n`), name);
  });
});

Deno.test("ten add-deb processes started at once against a running stack all get published", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-concurrent-" });
  const stack = await startLocalStack({
    dir: `${dir}/state`,
    persist: false,
    ports: { dynamodb: 0, s3: 0 },
  });
  try {
    await writeStackRecord(stack);
    const names = Array.from({ length: 10 }, (_, i) => `proc${i}`);
    const files = await Promise.all(names.map(async (name) => {
      const path = `${dir}/${name}_1.0_amd64.deb`;
      await Deno.writeFile(
        path,
        await makeTestDeb({ name, version: "1.0", architecture: "amd64" }),
      );
      return path;
    }));
    const runs = await Promise.all(files.map((file) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "tasks/add_deb.ts", file],
        env: { KIRO_LOCAL_DIR: `${dir}/state`, KIRO_ENV: "local" },
        stdout: "piped",
        stderr: "piped",
      }).output()
    ));
    for (const run of runs) {
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    }
    const clients = awsClients(stack.outputs);
    try {
      const objects = objectStoreFor(stack.outputs, clients);
      const text = new TextDecoder().decode(
        await objects.get("dists/stable/main/binary-amd64/Packages"),
      );
      for (const name of names) assert.ok(text.includes(`Package: ${name}\n`), name);
    } finally {
      clients.destroy();
    }
  } finally {
    await stack.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed local rebuild prints one clear line, and the handler's JSON log line only with --verbose", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-rebuild-verbose-" });
  const stack = await startLocalStack({
    dir: `${dir}/state`,
    persist: false,
    ports: { dynamodb: 0, s3: 0 },
  });
  const clients = awsClients(stack.outputs);
  try {
    await writeStackRecord(stack);
    const store = new PackageStore(clients.dynamo, stack.outputs.tableName);
    await store.put(syntheticRecord({ name: "ghost", version: "1", architecture: "amd64" }).record);
    const rebuild = async (args: string[]) => {
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "tasks/rebuild.ts", ...args],
        env: { KIRO_LOCAL_DIR: `${dir}/state`, KIRO_ENV: "local", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const output = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
      return { code: run.code, lines: output.trim().split("\n") };
    };

    const quiet = await rebuild([]);
    assert.equal(quiet.code, 1, quiet.lines.join("\n"));
    const failure = quiet.lines.at(-1) ?? "";
    assert.match(failure, /^rebuild: .*ghost#1 .* not in the bucket/);
    assert.deepEqual(quiet.lines.filter((line) => line.startsWith("{")), [], "no JSON log line");
    assert.ok(!quiet.lines.some((line) => /^\s+at /.test(line)), "no stack");

    const verbose = await rebuild(["--verbose"]);
    assert.equal(verbose.code, 1, verbose.lines.join("\n"));
    assert.equal(verbose.lines.at(-1), failure);
    const logged = verbose.lines.filter((line) => line.startsWith("{")).map((line) =>
      JSON.parse(line)
    );
    assert.deepEqual(logged.map((entry) => [entry.level, entry.message]), [
      ["ERROR", "Force rebuild failed"],
    ]);
    assert.match(logged[0].error.stack, /PoolVerificationError/);
  } finally {
    clients.destroy();
    await stack.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a force rebuild reads the table without the attributes no publish needs, to the same indexes", async () => {
  await withTestStack(async (stack) => {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const items = [0, 1, 2].map((i) =>
      syntheticRecord({ name: "kiro", version: `1.${i}`, architecture: "amd64" })
    );
    const records = await seedPool(objects, items);
    for (const record of records) {
      await stack.store.put({
        ...record,
        notes: "Release notes\n".repeat(500),
        certificate_url: "https://example.invalid/kiro.pem",
        signature_url: "https://example.invalid/kiro.sig",
      });
    }
    const first = await forceRebuild(await deps(stack));
    const packagesKey = "dists/stable/main/binary-amd64/Packages";
    const before = await objects.get(packagesKey);
    // The same table read in full gives the same Packages: nothing it needs was left out.
    const full = await stack.store.listAll();
    const projected = await stack.store.listAll({ forPublishing: true });
    assert.equal(projected.length, full.length);
    for (const [i, record] of full.entries()) {
      const { notes, certificate_url, signature_url, ...rest } = record;
      assert.ok(
        notes !== undefined && certificate_url !== undefined && signature_url !== undefined,
      );
      assert.deepEqual(projected[i], rest);
    }
    const scans: unknown[] = [];
    stack.clients.dynamo.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === "ScanCommand") {
          scans.push((args.input as Record<string, unknown>).ProjectionExpression);
        }
        return next(args);
      },
      { step: "initialize", name: "recordScans" },
    );
    try {
      await objects.delete(packagesKey);
      const second = await forceRebuild(await deps(stack));
      assert.equal(second.packages, first.packages);
      assert.deepEqual(await objects.get(packagesKey), before);
      assert.ok(scans.length > 0);
      assert.ok(scans.every((expression) => typeof expression === "string"));
    } finally {
      stack.clients.dynamo.middlewareStack.remove("recordScans");
    }
  });
});
