import assert from "node:assert/strict";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  paginateListObjectsV2,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { awsClients } from "../../lambda/aws/clients.ts";
import { readSigningKeys } from "../../lambda/signing/keys.ts";
import { PackageStore } from "../../lambda/store/package_store.ts";
import {
  LOCAL_NAMES,
  PortInUseError,
  removeStackRecord,
  runningLocalStack,
  stackRecordPath,
  startLocalStack,
  withLocalStack,
  writeStackRecord,
} from "../../tasks/lib/local_stack.ts";
import { EnvironmentError } from "../../tasks/lib/env.ts";
import { startTestStack } from "../support/stack.ts";
import { startTaskProcess, taskProcess } from "../support/task_output.ts";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";

const record: PackageRecord = {
  package_id: "kiro#1.0",
  package_name: "kiro",
  version: "1.0",
  architecture: "amd64",
  package_type: "upload",
  pub_date: "2026-01-01",
  processed_timestamp: "2026-01-01T00:00:00.000Z",
  deb_url: "file:///kiro.deb",
  actual_filename: "kiro.deb",
  pool_key: "pool/main/k/kiro/kiro_1.0_amd64.deb",
  file_size: 3,
  md5_hash: "0".repeat(32),
  sha1_hash: "0".repeat(40),
  sha256_hash: "0".repeat(64),
  section: "editors",
  priority: "optional",
  maintainer: "Kiro <a@b.c>",
  homepage: "https://kiro.dev",
  description: "Kiro",
  control: { Package: "kiro", Version: "1.0", Architecture: "amd64" },
};

Deno.test("the local S3 lists more than 1000 keys across pages (the DES token shim works)", async () => {
  const stack = await startTestStack();
  try {
    const { s3 } = stack.clients;
    const bucket = stack.outputs.bucketName;
    const count = 1050;
    for (let start = 0; start < count; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, count - start) }, (_, i) =>
          s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: `pool/k${String(start + i).padStart(5, "0")}`,
              Body: "x",
            }),
          )),
      );
    }
    const first = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "pool/" }));
    assert.equal(first.IsTruncated, true);
    assert.equal(first.KeyCount, 1000);
    assert.ok(first.NextContinuationToken);
    const keys: string[] = [];
    for await (
      const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: "pool/" })
    ) {
      for (const object of page.Contents ?? []) keys.push(object.Key ?? "");
    }
    assert.equal(keys.length, count);
    assert.equal(new Set(keys).size, count);
    assert.equal(keys.at(-1), `pool/k${String(count - 1).padStart(5, "0")}`);
  } finally {
    await stack.close();
  }
});

Deno.test("the local S3 pages by marker in S3's key order across folders (kiro-cli/ before kiro/)", async () => {
  const stack = await startTestStack();
  try {
    const { s3 } = stack.clients;
    const bucket = stack.outputs.bucketName;
    // Folders whose walk order is not key order: "-" (0x2d) sorts before "/" (0x2f).
    const names = ["kiro", "kiro-cli", "kiro-repo", "kirox", "libkiro1"];
    const expected: string[] = [];
    for (const name of names) {
      const keys = Array.from(
        { length: 30 },
        (_, i) => `pool/main/k/${name}/${name}_1.${i}_amd64.deb`,
      );
      expected.push(...keys);
      await Promise.all(
        keys.map((key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "x" }))),
      );
    }
    expected.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const listed: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await s3.send(
        new ListObjectsCommand({
          Bucket: bucket,
          Prefix: "pool/",
          MaxKeys: 7,
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      );
      for (const object of page.Contents ?? []) listed.push(object.Key ?? "");
      if (page.IsTruncated !== true) break;
      marker = page.Contents?.at(-1)?.Key;
    }
    assert.deepEqual(listed, expected);
    const folders = await s3.send(
      new ListObjectsCommand({ Bucket: bucket, Prefix: "pool/main/k/", Delimiter: "/" }),
    );
    assert.deepEqual(
      folders.CommonPrefixes?.map((p) => p.Prefix),
      [...names.map((name) => `pool/main/k/${name}/`)].sort(),
    );
  } finally {
    await stack.close();
  }
});

Deno.test("the local S3 gives each object's size, MD5 ETag and date alike in a listing and a HEAD, also before s3rver wrote the MD5", async () => {
  const stack = await startTestStack();
  try {
    const { s3 } = stack.clients;
    const bucket = stack.outputs.bucketName;
    const keys = [
      "pool/main/k/kiro/kiro_1.0_amd64.deb",
      "pool/main/k/kiro/kiro_1:2.0~rc1+b1_all.deb",
    ];
    for (const [i, key] of keys.entries()) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "x".repeat(i + 3) }));
    }
    // s3rver computes and writes an object's MD5 file when it is first asked for it.
    await Deno.remove(join(stack.dir, "s3", bucket, `${keys[1]}._S3rver_object.md5`));
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "pool/" }));
    assert.deepEqual(page.Contents?.map((object) => object.Key), keys);
    for (const object of page.Contents ?? []) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: object.Key }));
      assert.equal(object.Size, head.ContentLength);
      assert.equal(object.ETag, head.ETag);
      assert.equal(object.LastModified?.toISOString(), head.LastModified?.toISOString());
    }
    const md5 = (text: string) => `"${createHash("md5").update(text).digest("hex")}"`;
    assert.deepEqual(
      page.Contents?.map((object) => [object.Size, object.ETag]),
      [[3, md5("xxx")], [4, md5("xxxx")]],
    );
  } finally {
    await stack.close();
  }
});

Deno.test("the repository URL serves keys with ':', '~' and '+' as apt asks for them", async () => {
  const stack = await startTestStack();
  try {
    const key = "pool/main/k/kiro/kiro_1:2.0~rc1+b1_amd64.deb";
    const body = new TextEncoder().encode("deb bytes 0123456789");
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: stack.outputs.bucketName, Key: key, Body: body }),
    );
    const escaped = `${stack.outputs.repoUrl}/pool/main/k/kiro/kiro_1%3a2.0%7erc1%2bb1_amd64.deb`;
    const response = await fetch(escaped);
    assert.equal(response.status, 200);
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), body);
    const ranged = await fetch(escaped, { headers: { Range: "bytes=4-8" } });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), "bytes");
    const missing = await fetch(`${stack.outputs.repoUrl}/pool/none.deb`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    // And through the SDK, the key reads back as written.
    const got = await stack.clients.s3.send(
      new GetObjectCommand({ Bucket: stack.outputs.bucketName, Key: key }),
    );
    assert.equal(await got.Body?.transformToString(), "deb bytes 0123456789");
  } finally {
    await stack.close();
  }
});

Deno.test("the test stack has a usable Ed25519 signing key at signingKeySecretId", async () => {
  const stack = await startTestStack();
  try {
    const [key, ...more] = await readSigningKeys(
      await Deno.readTextFile(stack.outputs.signingKeySecretId),
    );
    assert.equal(more.length, 0);
    assert.match(key?.algorithm ?? "", /eddsa|ed25519/i);
    assert.equal(stack.outputs.environment, "local");
    assert.equal(stack.outputs.tableName, LOCAL_NAMES.tableName);
    assert.equal(stack.outputs.repoUrl, `${stack.outputs.endpoints?.s3}/${LOCAL_NAMES.bucketName}`);
  } finally {
    await stack.close();
  }
});

Deno.test("a persisted local stack keeps its records, objects and signing key across restarts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await startLocalStack({ dir, ports: { dynamodb: 0, s3: 0 } });
    const keyText = await Deno.readTextFile(join(dir, "signing-key.asc"));
    assert.equal((await Deno.stat(join(dir, "signing-key.asc"))).mode! & 0o777, 0o600);
    const clients1 = awsClients(first.outputs);
    try {
      await new PackageStore(clients1.dynamo, first.outputs.tableName).put(record);
      await clients1.s3.send(
        new PutObjectCommand({ Bucket: first.outputs.bucketName, Key: "dists/x", Body: "abc" }),
      );
    } finally {
      clients1.destroy();
      await first.close();
    }
    const second = await startLocalStack({ dir, ports: { dynamodb: 0, s3: 0 } });
    const clients2 = awsClients(second.outputs);
    try {
      const store = new PackageStore(clients2.dynamo, second.outputs.tableName);
      assert.deepEqual(
        await store.get({ package_name: "kiro", version: "1.0", architecture: "amd64" }),
        record,
      );
      const response = await fetch(`${second.outputs.repoUrl}/dists/x`);
      assert.equal(await response.text(), "abc");
      assert.equal(await Deno.readTextFile(join(dir, "signing-key.asc")), keyText);
    } finally {
      clients2.destroy();
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withLocalStack uses the running stack's record, and starts its own when it is stale", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dev = await startLocalStack({ dir, ports: { dynamodb: 0, s3: 0 } });
    try {
      const devClients = awsClients(dev.outputs);
      await new PackageStore(devClients.dynamo, dev.outputs.tableName).put(record);
      devClients.destroy();
      await writeStackRecord(dev);
      assert.deepEqual(await runningLocalStack(dir), dev.outputs);
      const seen = await withLocalStack((outputs) => Promise.resolve(outputs), { dir });
      assert.deepEqual(seen, dev.outputs);
      await removeStackRecord(dev);
      await assert.rejects(() => Deno.stat(stackRecordPath(dir)), Deno.errors.NotFound);
    } finally {
      await dev.close();
    }
    // A record left by a dead process is ignored: the task starts its own stand-ins.
    await Deno.writeTextFile(
      stackRecordPath(dir),
      JSON.stringify({ pid: 2 ** 22 + 7, startedAt: "x", outputs: dev.outputs }),
    );
    assert.equal(await runningLocalStack(dir), undefined);
    const own = await withLocalStack(async (outputs) => {
      const clients = awsClients(outputs);
      try {
        // It opened the same persisted data.
        return await new PackageStore(clients.dynamo, outputs.tableName).has({
          package_name: "kiro",
          version: "1.0",
          architecture: "amd64",
        });
      } finally {
        clients.destroy();
      }
    }, { dir, ports: { dynamodb: 0, s3: 0 } });
    assert.equal(own, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a taken port is a clear error that names the variable to set", async () => {
  const stack = await startTestStack();
  const dir = await Deno.makeTempDir();
  try {
    const port = Number(new URL(stack.outputs.endpoints?.s3 ?? "").port);
    await assert.rejects(
      () => startLocalStack({ dir, persist: false, ports: { dynamodb: 0, s3: port } }),
      (error: unknown) =>
        error instanceof PortInUseError && error.message.includes(`127.0.0.1:${port}`) &&
        error.message.includes("KIRO_LOCAL_S3_PORT"),
    );
  } finally {
    await stack.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a local state folder under a regular file is refused before anything starts, naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/plain`;
    await Deno.writeTextFile(file, "not a folder\n");
    await assert.rejects(
      () =>
        startLocalStack({ dir: `${file}/state`, persist: false, ports: { dynamodb: 0, s3: 0 } }),
      (error: unknown) =>
        error instanceof EnvironmentError && error.reason === "local_state" &&
        error.message ===
          `Cannot use the local state folder ${file}/state: ${file} is a file, not a folder; ` +
            "make it a folder you can write to, or set KIRO_LOCAL_DIR to one",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task dev runs the stack, outputs prints it, and Ctrl-C stops it cleanly", async () => {
  const dir = await Deno.makeTempDir();
  const env = { KIRO_LOCAL_DIR: dir, KIRO_LOCAL_DYNAMODB_PORT: "0", KIRO_LOCAL_S3_PORT: "0" };
  const dev = startTaskProcess("tasks/dev.ts", [], { env });
  try {
    // The outputs, to the end of their JSON.
    const printed = await dev.waitFor(/Outputs \(deno task outputs local\):[\s\S]*\n}\n/);
    assert.match(
      printed,
      /Repository: http:\/\/127\.0\.0\.1:\d+\/kiro-debian-repo-manager-repo-local\//,
    );
    assert.match(
      printed,
      /Types: deb\nURIs: http:\/\/127\.0\.0\.1:\d+\/kiro-debian-repo-manager-repo-local\nSuites: stable\nComponents: main\nSigned-By: .*kiro-archive-keyring\.pgp/,
    );
    assert.match(
      printed,
      /deb \[signed-by=.*kiro-archive-keyring\.pgp\] http:\/\/127\.0\.0\.1:\d+\/\S+ stable main/,
    );
    const record = JSON.parse(await Deno.readTextFile(stackRecordPath(dir)));
    assert.equal(record.pid, dev.process.pid);

    const outputsRun = await taskProcess("tasks/outputs.ts", ["local"], { env });
    assert.equal(outputsRun.code, 0, outputsRun.stderr);
    const printedOutputs = JSON.parse(outputsRun.stdout);
    assert.deepEqual(printedOutputs, record.outputs);
    const keyring = await Deno.readFile(join(dir, "kiro-archive-keyring.pgp"));
    assert.ok(keyring.length > 0);

    const stopped = await dev.stop();
    assert.equal(stopped.status.code, 0, stopped.stderr);
    assert.match(
      stopped.stdout.slice(printed.length),
      /SIGINT: stopping the local stack\n[\s\S]*Stopped/,
    );
    await assert.rejects(() => Deno.stat(stackRecordPath(dir)), Deno.errors.NotFound);
  } finally {
    await dev.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});
