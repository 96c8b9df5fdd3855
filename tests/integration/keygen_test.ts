/**
 * `deno task keygen`: creating, rotating and retiring signing keys in a
 * Secrets Manager secret (a stand-in speaking the real wire protocol to the
 * real SDK client) and in the local key file, without ever printing private
 * material.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as openpgp from "openpgp";
import { readSigningKeys } from "../../lambda/signing/keys.ts";
import { main } from "../../tasks/keygen.ts";
import {
  fileStorage,
  KeygenError,
  type KeyStorage,
  secretsManagerStorage,
  updateSigningKeys,
} from "../../tasks/keys/rotation.ts";

interface FakeSecret {
  name: string;
  value?: string;
  versions: number;
  deleted?: boolean;
}

/** A Secrets Manager stand-in (JSON 1.1 protocol) for DescribeSecret, GetSecretValue, PutSecretValue. */
function startSecretsManager(secrets: FakeSecret[]) {
  const calls: string[] = [];
  const notFound = (message: string) =>
    Response.json({ __type: "ResourceNotFoundException", message }, {
      status: 400,
      headers: { "x-amzn-errortype": "ResourceNotFoundException" },
    });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const target = request.headers.get("x-amz-target") ?? "";
    const body = await request.json() as { SecretId: string; SecretString?: string };
    const operation = target.replace("secretsmanager.", "");
    calls.push(operation);
    const secret = secrets.find((s) => s.name === body.SecretId);
    if (secret === undefined) return notFound("Secrets Manager can't find the specified secret.");
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secret.name}-AbCdEf`;
    const versionId = `v${secret.versions}`;
    switch (operation) {
      case "DescribeSecret":
        return Response.json({
          ARN: arn,
          Name: secret.name,
          ...(secret.deleted ? { DeletedDate: 1_700_000_000 } : {}),
          ...(secret.value === undefined
            ? {}
            : { VersionIdsToStages: { [versionId]: ["AWSCURRENT"] } }),
        });
      case "GetSecretValue":
        if (secret.value === undefined) {
          return notFound(
            "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
          );
        }
        return Response.json({
          ARN: arn,
          Name: secret.name,
          SecretString: secret.value,
          VersionId: versionId,
          VersionStages: ["AWSCURRENT"],
        });
      case "PutSecretValue":
        secret.value = body.SecretString ?? "";
        secret.versions++;
        return Response.json({
          ARN: arn,
          Name: secret.name,
          VersionId: `v${secret.versions}`,
          VersionStages: ["AWSCURRENT"],
        });
      default:
        return Response.json({ __type: "InvalidRequestException", message: target }, {
          status: 400,
        });
    }
  });
  const client = new SecretsManagerClient({
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  return {
    client,
    calls,
    async close() {
      client.destroy();
      await server.shutdown();
    },
  };
}

const SECRET = "kiro-debian-repo-manager-signing-key-dev";
const NEW_KEY = {
  kind: "create",
  type: "ed25519",
  name: "Test Archive Key",
  email: "test@example.com",
} as const;
const ROTATE = { ...NEW_KEY, kind: "rotate" } as const;

async function withSecret(
  secret: FakeSecret,
  fn: (storage: KeyStorage, secret: FakeSecret, calls: string[]) => Promise<void>,
) {
  const fake = startSecretsManager([secret]);
  try {
    await fn(secretsManagerStorage(fake.client, SECRET), secret, fake.calls);
  } finally {
    await fake.close();
  }
}

Deno.test("keygen stores a new key in the stack's empty secret and returns only its public keyring", async () => {
  await withSecret({ name: SECRET, versions: 0 }, async (storage, secret, calls) => {
    const result = await updateSigningKeys(storage, NEW_KEY);
    assert.ok(calls.includes("PutSecretValue"));
    assert.ok(secret.value !== undefined);
    assert.equal(secret.value.match(/-----BEGIN PGP PRIVATE KEY BLOCK-----/g)?.length, 1);
    const stored = await readSigningKeys(secret.value);
    assert.deepEqual(stored.map((k) => k.fingerprint), [result.added]);
    assert.equal(stored[0]?.algorithm, "ed25519");
    const keyring = await openpgp.readKeys({ binaryKeys: result.keyring });
    assert.deepEqual(keyring.map((k) => k.getFingerprint().toUpperCase()), [result.added]);
    assert.ok(keyring.every((k) => !k.isPrivate()), "the keyring holds public keys only");
  });
});

Deno.test("keygen refuses to replace an existing key without --rotate and leaves it as it was", async () => {
  await withSecret({ name: SECRET, versions: 0 }, async (storage, secret) => {
    const first = await updateSigningKeys(storage, NEW_KEY);
    const before = secret.value;
    await assert.rejects(updateSigningKeys(storage, NEW_KEY), (error: unknown) => {
      assert.ok(error instanceof KeygenError);
      assert.match(
        error.message,
        new RegExp(`already holds a signing key \\(${first.added}\\); use --rotate`),
      );
      return true;
    });
    assert.equal(secret.value, before);
  });
});

Deno.test("--rotate adds a key beside the old one; --retire removes the old one but never the last", async () => {
  await withSecret({ name: SECRET, versions: 0 }, async (storage, secret) => {
    const old = await updateSigningKeys(storage, NEW_KEY);
    const rotated = await updateSigningKeys(storage, { ...ROTATE, type: "rsa4096" });
    assert.deepEqual(rotated.keys.map((k) => k.fingerprint), [old.added, rotated.added]);
    assert.deepEqual(rotated.keys.map((k) => k.algorithm), ["ed25519", "rsa4096"]);
    const publicKeys = await openpgp.readKeys({ binaryKeys: rotated.keyring });
    assert.equal(publicKeys.length, 2);
    assert.equal(secret.value?.match(/-----BEGIN PGP PRIVATE KEY BLOCK-----/g)?.length, 2);

    await assert.rejects(
      updateSigningKeys(storage, { kind: "retire", fingerprint: "0123456789ABCDEF0123" }),
      /Cannot retire 0123456789ABCDEF0123: .* holds .*; give one of these fingerprints/,
    );
    const shortId = (old.added as string).slice(-16).toLowerCase();
    const retired = await updateSigningKeys(storage, { kind: "retire", fingerprint: shortId });
    assert.equal(retired.removed, old.added);
    assert.deepEqual(retired.keys.map((k) => k.fingerprint), [rotated.added]);
    assert.deepEqual((await readSigningKeys(secret.value as string)).map((k) => k.fingerprint), [
      rotated.added,
    ]);
    await assert.rejects(
      updateSigningKeys(storage, { kind: "retire", fingerprint: rotated.added as string }),
      /it is the only key in the Secrets Manager secret .*; rotate first/,
    );
  });
});

Deno.test("keygen says to deploy first when the secret does not exist, and refuses a deleted secret", async () => {
  const fake = startSecretsManager([{ name: "other", versions: 0 }]);
  try {
    await assert.rejects(
      updateSigningKeys(secretsManagerStorage(fake.client, SECRET), NEW_KEY),
      /Cannot store the signing key: the Secrets Manager secret kiro-debian-repo-manager-signing-key-dev does not exist; deploy the stack first \(pulumi up\)/,
    );
  } finally {
    await fake.close();
  }
  await withSecret({ name: SECRET, versions: 0, deleted: true }, async (storage, secret) => {
    await assert.rejects(
      updateSigningKeys(storage, NEW_KEY),
      /is scheduled for deletion; restore it/,
    );
    assert.equal(secret.value, undefined);
  });
});

Deno.test("keygen refuses a stored value it cannot read instead of overwriting it", async () => {
  await withSecret({ name: SECRET, versions: 1, value: "not a key" }, async (storage, secret) => {
    await assert.rejects(
      updateSigningKeys(storage, ROTATE),
      /no -----BEGIN PGP PRIVATE KEY BLOCK----- found/,
    );
    assert.equal(secret.value, "not a key");
  });
});

async function captureConsole(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    return { code: await fn(), out: lines.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("deno task keygen --env local writes the local key file (0600) and never prints private material", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-keygen-" });
  const previous = Deno.env.get("KIRO_LOCAL_DIR");
  Deno.env.set("KIRO_LOCAL_DIR", dir);
  try {
    const keyFile = join(dir, "signing-key.asc");
    const keyring = join(dir, "keyring.pgp");
    const created = await captureConsole(() => main(["--env", "local", "--keyring-out", keyring]));
    assert.equal(created.code, 0, created.out);
    assert.match(created.out, /Added signing key [0-9A-F]{40}/);
    assert.match(created.out, /Next: deno task rebuild local .*\/kiro-archive-keyring\.pgp/);
    assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
    const [key] = await readSigningKeys(await Deno.readTextFile(keyFile));
    const published = await openpgp.readKeys({ binaryKeys: await Deno.readFile(keyring) });
    assert.equal(published[0]?.getFingerprint().toUpperCase(), key?.fingerprint);

    const again = await captureConsole(() => main(["--env", "local"]));
    assert.equal(again.code, 1);
    assert.match(again.out, /already holds a signing key/);

    const rotated = await captureConsole(() => main(["--env", "local", "--rotate"]));
    assert.equal(rotated.code, 0, rotated.out);
    assert.match(rotated.out, /now holds 2 key\(s\)/);

    const both = await captureConsole(() =>
      main(["--env", "local", "--rotate", "--retire", "ABCD"])
    );
    assert.equal(both.code, 2);
    const badType = await captureConsole(() => main(["--env", "local", "--type", "dsa"]));
    assert.equal(badType.code, 2);
    const help = await captureConsole(() => main(["--help"]));
    assert.equal(help.code, 0);
    assert.match(help.out, /--rotate/);

    for (const run of [created, again, rotated, both, badType, help]) {
      assert.doesNotMatch(run.out, /PRIVATE KEY|-----BEGIN/);
    }
    const secretText = await Deno.readTextFile(keyFile);
    const body = secretText.split("\n").find((line) =>
      line.length > 40 && !line.startsWith("-----")
    );
    assert.ok(body !== undefined);
    for (const run of [created, rotated]) {
      assert.ok(!run.out.includes(body), "key material was printed");
    }
  } finally {
    if (previous === undefined) Deno.env.delete("KIRO_LOCAL_DIR");
    else Deno.env.set("KIRO_LOCAL_DIR", previous);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the local key file is replaced atomically and created with mode 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-keyfile-" });
  try {
    const storage = fileStorage(join(dir, "sub", "key.asc"));
    assert.equal(await storage.read(), undefined);
    await storage.write("one");
    await storage.write("two");
    assert.equal(await storage.read(), "two");
    assert.deepEqual([...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name), ["key.asc"]);
    assert.equal((await Deno.stat(join(dir, "sub", "key.asc"))).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
