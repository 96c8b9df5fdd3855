import assert from "node:assert/strict";
import { join } from "node:path";
import { SNSClient } from "@aws-sdk/client-sns";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import {
  createNotifier,
  failureNotification,
  FileNotifier,
  newPackageNotification,
  SnsNotifier,
} from "../../lambda/notify/notifier.ts";

const RECORD: PackageRecord = {
  package_id: "kiro#1.0.337",
  package_name: "kiro",
  version: "1.0.337",
  architecture: "amd64",
  package_type: "external_download",
  pub_date: "2026-11-01T12:00:00Z",
  processed_timestamp: "2026-11-22T10:00:00.000Z",
  deb_url: "https://prod.download.desktop.kiro.dev/releases/1.0.337/kiro.deb",
  actual_filename: "kiro.deb",
  pool_key: "pool/main/k/kiro/kiro_1.0.337_amd64.deb",
  file_size: 123456,
  md5_hash: "0".repeat(32),
  sha1_hash: "1".repeat(40),
  sha256_hash: "2".repeat(64),
  section: "editors",
  priority: "optional",
  maintainer: "Kiro Team <support@kiro.dev>",
  homepage: "https://kiro.dev",
  description: "Kiro IDE",
  control: { Package: "kiro", Version: "1.0.337", Architecture: "amd64" },
  notes: "Faster startup",
};

Deno.test("a new-package notification names the package, version, environment, pool key and hash", () => {
  const note = newPackageNotification(RECORD, {
    environment: "prod",
    now: new Date("2026-11-22T10:00:00Z"),
  });
  assert.equal(note.kind, "new_package");
  assert.equal(note.subject, "[kiro-repo prod] New package: kiro 1.0.337");
  assert.match(note.message, /^kiro 1\.0\.337 \(amd64\) is now in the prod repository\./);
  assert.match(note.message, /Pool: pool\/main\/k\/kiro\/kiro_1\.0\.337_amd64\.deb/);
  assert.match(note.message, new RegExp(`SHA256: ${"2".repeat(64)}`));
  assert.match(note.message, /Notes: Faster startup/);
  assert.equal(note.details.file_size, 123456);
  assert.equal(note.time, "2026-11-22T10:00:00.000Z");
});

Deno.test("a failure subject is ASCII and at most 100 characters, as SNS requires", () => {
  const note = failureNotification(`Sync of ${"kirö-".repeat(40)}`, "HTTP 500", {
    environment: "dev",
  });
  assert.equal(note.kind, "failure");
  assert.ok(note.subject.length <= 100);
  assert.match(note.subject, /^\[kiro-repo dev\] FAILED: Sync of kir\?-/);
  assert.ok(/^[\x20-\x7e]+$/.test(note.subject));
  assert.match(note.message, /HTTP 500/);
});

Deno.test("the local notifier appends one JSON line per notification, creating its folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "nested", "notifications.jsonl");
    const notifier = createNotifier({}, { localFile: path });
    assert.ok(notifier instanceof FileNotifier);
    await notifier.notify(newPackageNotification(RECORD, { environment: "local" }));
    await notifier.notify(
      failureNotification("Sync of kiro-cli", "boom", { environment: "local" }),
    );
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.deepEqual(lines.map((line) => line.kind), ["new_package", "failure"]);
    assert.equal(lines[1].details.error, "boom");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the SNS notifier publishes subject, message and attributes to the topic", async () => {
  const requests: { contentType: string; body: string }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const contentType = request.headers.get("content-type") ?? "";
      requests.push({ contentType, body: await request.text() });
      if (contentType.includes("json")) {
        return Response.json({ MessageId: "msg-1" }, {
          headers: { "content-type": "application/x-amz-json-1.0" },
        });
      }
      return new Response(
        '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>msg-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>',
        { headers: { "content-type": "text/xml" } },
      );
    },
  );
  const sns = new SNSClient({
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
  });
  try {
    const topic = "arn:aws:sns:us-east-1:123456789012:kiro-repo-dev";
    const notifier = createNotifier({ sns, topicArn: topic });
    assert.ok(notifier instanceof SnsNotifier);
    await notifier.notify(newPackageNotification(RECORD, { environment: "dev" }));
    assert.equal(requests.length, 1);
    const body = decodeURIComponent(requests[0]!.body.replaceAll("+", " "));
    assert.ok(body.includes(topic), body);
    assert.ok(body.includes("[kiro-repo dev] New package: kiro 1.0.337"), body);
    assert.ok(body.includes("new_package"), body);
  } finally {
    sns.destroy();
    await server.shutdown();
  }
});

Deno.test("an SNS topic without a client is a configuration error", () => {
  assert.throws(
    () => createNotifier({ topicArn: "arn:aws:sns:us-east-1:1:t" }),
    /no SNS client was given/,
  );
});
