/**
 * The signatures made by `signRelease` checked by the verifiers apt runs:
 * `gpgv` (apt ≤ 2.x) and `sqv` (apt 3), with the keyring `publicKeyring` writes.
 * apt splits InRelease into text and signature itself before calling either
 * tool (`splitClearsigned` follows its rules); gpgv is also given the whole file.
 */
import assert from "node:assert/strict";
import * as openpgp from "openpgp";
import fc from "fast-check";
import {
  generateSigningKey,
  publicKeyring,
  readSigningKeys,
  type SigningKey,
  type SigningKeyType,
} from "../../lambda/signing/keys.ts";
import { signRelease } from "../../lambda/signing/sign.ts";
import { splitClearsigned } from "../../lambda/signing/clearsigned.ts";
import { missingTools } from "../support/tools.ts";
import { type CommandResult, runCommand } from "../../tasks/lib/command.ts";

const ignore = missingTools(["gpgv", "sqv"]);

const RELEASE = [
  "Origin: Kiro",
  "Label: Kiro",
  "Suite: stable",
  "Codename: stable",
  "Date: Sun, 22 Nov 2026 12:00:00 UTC",
  "Architectures: amd64 arm64",
  "Components: main",
  "Description: Kiro packages — für Linux (UTF-8)",
  "Acquire-By-Hash: yes",
  "SHA256:",
  " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages",
  "-Dashed: a line that needs dash-escaping",
  "",
].join("\n");

/** Runs a verifier (or gpg) in `cwd`, which is also its GnuPG home. */
function run(command: string, args: string[], options: { cwd: string }): Promise<CommandResult> {
  return runCommand(command, args, {
    cwd: options.cwd,
    env: { LC_ALL: "C", GNUPGHOME: options.cwd },
  });
}

/** A temp folder with the keyring, Release, InRelease, Release.gpg and apt's split of InRelease. */
async function withFiles(
  files: { keyring: Uint8Array; release: string; inRelease: string; releaseGpg: string },
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-sigverify-" });
  try {
    await Deno.writeFile(`${dir}/keyring.pgp`, files.keyring);
    await Deno.writeTextFile(`${dir}/Release`, files.release);
    await Deno.writeTextFile(`${dir}/InRelease`, files.inRelease);
    await Deno.writeTextFile(`${dir}/Release.gpg`, files.releaseGpg);
    const parts = splitClearsigned(files.inRelease);
    await Deno.writeTextFile(`${dir}/InRelease.data`, parts.text);
    await Deno.writeTextFile(`${dir}/InRelease.sig`, parts.signature);
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The primary fingerprints gpgv reports a valid signature for (VALIDSIG's last field). */
function gpgvGood(result: CommandResult): string[] {
  return result.stdout.split("\n")
    .filter((line) => line.startsWith("[GNUPG:] VALIDSIG "))
    .map((line) => line.trim().split(" ").at(-1)!);
}

/**
 * Whether gpgv saw a signature it rejects, as apt's gpgv method judges it: a
 * missing key (ERRSIG with code 9, NO_PUBKEY) is no failure when another
 * signature is good — that is the rotation case.
 */
function gpgvBad(result: CommandResult): boolean {
  return result.stdout.split("\n").some((line) => {
    const [tag, status, ...fields] = line.trim().split(" ");
    if (tag !== "[GNUPG:]") return false;
    if (status === "ERRSIG") return fields[5] !== "9";
    return status === "BADSIG" || status === "EXPKEYSIG" || status === "REVKEYSIG";
  });
}

/** Each way apt (or a person) checks the files; returns the signers each one accepted. */
async function verifyAll(dir: string): Promise<Record<string, string[]>> {
  const gpgv = (args: string[]) =>
    run("gpgv", ["--status-fd", "1", "--keyring", `${dir}/keyring.pgp`, ...args], { cwd: dir });
  const sqv = async (args: string[]) => {
    const result = await run("sqv", ["--keyring", `${dir}/keyring.pgp`, ...args], { cwd: dir });
    return result.code === 0 ? result.stdout.trim().split("\n").filter((line) => line !== "") : [];
  };
  const results: Record<string, string[]> = {};
  const inRelease = await gpgv(["InRelease"]);
  results["gpgv InRelease"] = gpgvBad(inRelease) ? [] : gpgvGood(inRelease);
  const split = await gpgv(["InRelease.sig", "InRelease.data"]);
  results["gpgv split InRelease"] = gpgvBad(split) ? [] : gpgvGood(split);
  const detached = await gpgv(["Release.gpg", "Release"]);
  results["gpgv Release.gpg"] = gpgvBad(detached) ? [] : gpgvGood(detached);
  results["sqv split InRelease"] = await sqv(["InRelease.sig", "InRelease.data"]);
  results["sqv Release.gpg"] = await sqv(["Release.gpg", "Release"]);
  return results;
}

function expectAll(results: Record<string, string[]>, signers: string[]): void {
  for (const [how, got] of Object.entries(results)) {
    assert.deepEqual([...got].sort(), [...signers].sort(), how);
  }
}

const keyCache = new Map<string, Promise<SigningKey>>();
function keyOf(type: SigningKeyType, which = "a"): Promise<SigningKey> {
  const id = `${type}/${which}`;
  let key = keyCache.get(id);
  if (key === undefined) {
    key = generateSigningKey({ name: `Verifier ${id}`, email: `${which}@example.com`, type })
      .then(async (generated) => (await readSigningKeys(generated.armoredPrivateKey))[0]!);
    keyCache.set(id, key);
  }
  return key;
}

for (const type of ["ed25519", "rsa3072", "rsa4096"] as const) {
  Deno.test({
    name: `gpgv and sqv accept InRelease and Release.gpg signed with an ${type} key`,
    ignore,
    fn: async () => {
      const key = await keyOf(type);
      const signed = await signRelease(RELEASE, [key]);
      await withFiles(
        { keyring: publicKeyring([key]), release: RELEASE, ...signed },
        async (dir) => {
          expectAll(await verifyAll(dir), [key.fingerprint]);
          const out = await run(
            "gpgv",
            ["--keyring", `${dir}/keyring.pgp`, "--output", `${dir}/out`, "InRelease"],
            { cwd: dir },
          );
          assert.equal(out.code, 0, out.stderr);
          assert.equal(
            await Deno.readTextFile(`${dir}/out`),
            RELEASE,
            "gpgv's signed text is Release",
          );
        },
      );
    },
  });
}

Deno.test({
  name: "gpgv and sqv accept a signature by an ECDSA P-256 key that readSigningKeys allows",
  ignore,
  fn: async () => {
    const { privateKey } = await openpgp.generateKey({
      type: "ecc",
      curve: "nistP256",
      userIDs: [{ name: "P256", email: "p256@example.com" }],
      format: "armored",
    });
    const [key] = await readSigningKeys(privateKey);
    const signed = await signRelease(RELEASE, [key!]);
    await withFiles(
      { keyring: publicKeyring([key!]), release: RELEASE, ...signed },
      async (dir) => {
        expectAll(await verifyAll(dir), [key!.fingerprint]);
      },
    );
  },
});

Deno.test({
  name: "during a rotation each key's keyring alone verifies the doubly signed files",
  ignore,
  fn: async () => {
    const oldKey = await keyOf("rsa3072", "old");
    const newKey = await keyOf("ed25519", "new");
    const signed = await signRelease(RELEASE, [oldKey, newKey]);
    for (const keys of [[oldKey], [newKey], [oldKey, newKey]]) {
      const files = { keyring: publicKeyring(keys), release: RELEASE, ...signed };
      await withFiles(files, async (dir) => {
        expectAll(await verifyAll(dir), keys.map((key) => key.fingerprint));
      });
    }
  },
});

Deno.test({
  name: "a tampered Release or InRelease fails in gpgv and sqv",
  ignore,
  fn: async () => {
    const key = await keyOf("ed25519");
    const signed = await signRelease(RELEASE, [key]);
    const tamperedRelease = RELEASE.replace("1234 main", "1235 main");
    const tamperedInRelease = signed.inRelease.replace("1234 main", "1235 main");
    assert.notEqual(tamperedInRelease, signed.inRelease);
    const files = {
      keyring: publicKeyring([key]),
      release: tamperedRelease,
      inRelease: tamperedInRelease,
      releaseGpg: signed.releaseGpg,
    };
    await withFiles(files, async (dir) => {
      expectAll(await verifyAll(dir), []);
      const direct = await run("gpgv", ["--keyring", `${dir}/keyring.pgp`, "InRelease"], {
        cwd: dir,
      });
      assert.notEqual(direct.code, 0);
      assert.match(direct.stderr, /BAD signature/);
    });
  },
});

Deno.test({
  name: "a signature by a key that is not in the keyring fails in gpgv and sqv",
  ignore,
  fn: async () => {
    const signer = await keyOf("ed25519", "stranger");
    const trusted = await keyOf("ed25519");
    const signed = await signRelease(RELEASE, [signer]);
    await withFiles(
      { keyring: publicKeyring([trusted]), release: RELEASE, ...signed },
      async (dir) => {
        expectAll(await verifyAll(dir), []);
        const sqv = await run(
          "sqv",
          ["--keyring", `${dir}/keyring.pgp`, "Release.gpg", "Release"],
          {
            cwd: dir,
          },
        );
        assert.notEqual(sqv.code, 0);
        assert.match(sqv.stderr, new RegExp(`Missing key ${signer.fingerprint}`));
      },
    );
  },
});

Deno.test({
  name: "sqv accepts the default signature date from a client whose clock is a minute behind",
  ignore,
  fn: async () => {
    const generated = await generateSigningKey({
      name: "Clock",
      email: "clock@example.com",
      type: "ed25519",
      date: new Date(Date.now() - 86_400_000),
    });
    const [key] = await readSigningKeys(generated.armoredPrivateKey);
    const signedNow = await signRelease(RELEASE, [key!], { date: new Date() });
    const signedByDefault = await signRelease(RELEASE, [key!]);
    // sqv's --not-after (default: its own now) stands for the client's clock.
    const clientClock = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, "Z");
    for (const [signed, accepted] of [[signedByDefault, true], [signedNow, false]] as const) {
      const files = { keyring: publicKeyring([key!]), release: RELEASE, ...signed };
      await withFiles(files, async (dir) => {
        const result = await run(
          "sqv",
          ["--keyring", `${dir}/keyring.pgp`, "--not-after", clientClock, "Release.gpg", "Release"],
          { cwd: dir },
        );
        assert.equal(result.code === 0, accepted, result.stderr);
      });
    }
  },
});

/** Release-like texts: any lines (dashes, armor look-alikes, UTF-8, inner tabs), no trailing blanks. */
const releaseTexts: fc.Arbitrary<string> = fc.array(
  fc.oneof(
    fc.string({ unit: fc.constantFrom("-", " ", "\t", ":", "a", "Z", "0", "=", "ü", "中") }),
    fc.constantFrom("-----BEGIN PGP SIGNATURE-----", "-----END PGP SIGNATURE-----", "- ", "-", ""),
  ).map((line) => line.replace(/[ \t]+$/, "")),
  { maxLength: 10 },
).map((lines) => lines.join("\n") + "\n");

Deno.test({
  name: "gpgv's signed text and apt's split agree on any Release text, and both verify (property)",
  ignore,
  fn: async () => {
    const key = await keyOf("ed25519");
    const keyring = publicKeyring([key]);
    await fc.assert(
      fc.asyncProperty(releaseTexts, async (text) => {
        const signed = await signRelease(text, [key]);
        await withFiles({ keyring, release: text, ...signed }, async (dir) => {
          const out = await run(
            "gpgv",
            ["--keyring", `${dir}/keyring.pgp`, "--output", `${dir}/out`, "InRelease"],
            { cwd: dir },
          );
          assert.equal(out.code, 0, out.stderr);
          assert.equal(await Deno.readTextFile(`${dir}/out`), text);
          const sqv = await run(
            "sqv",
            ["--keyring", `${dir}/keyring.pgp`, "InRelease.sig", "InRelease.data"],
            { cwd: dir },
          );
          assert.equal(sqv.stdout.trim(), key.fingerprint, sqv.stderr);
        });
      }),
      { numRuns: 100 },
    );
  },
});

Deno.test({
  name: "a gpg-made key with a signing subkey is read and its signatures verify in gpgv and sqv",
  ignore: ignore || missingTools(["gpg", "gpgconf"]),
  fn: async () => {
    const home = await Deno.makeTempDir({ prefix: "kiro-gnupg-" });
    const gpg = (args: string[]) =>
      run("gpg", ["--batch", "--pinentry-mode", "loopback", ...args], { cwd: home });
    // A certify-only primary key made an hour ago and a signing subkey bound a
    // minute ago (the usual gpg layout): signatures must not be dated before the
    // binding, or no key can sign at that date.
    const now = Math.floor(Date.now() / 1000);
    const at = (seconds: number) => ["--faked-system-time", `${now - seconds}!`];
    try {
      const created = await gpg([
        ...at(3600),
        "--passphrase",
        "",
        "--quick-gen-key",
        "Kiro Operator <ops@example.com>",
        "ed25519",
        "cert",
        "never",
      ]);
      assert.equal(created.code, 0, created.stderr);
      const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(
        (await gpg(["--with-colons", "--list-secret-keys"])).stdout,
      )?.[1];
      assert.ok(fingerprint !== undefined);
      const primary: string = fingerprint;
      const subkey = await gpg([
        ...at(60),
        "--passphrase",
        "",
        "--quick-add-key",
        fingerprint,
        "ed25519",
        "sign",
      ]);
      assert.equal(subkey.code, 0, subkey.stderr);
      const exported = await gpg([
        "--passphrase",
        "",
        "--armor",
        "--export-secret-keys",
        fingerprint,
      ]);
      assert.equal(exported.code, 0, exported.stderr);

      const [key, ...rest] = await readSigningKeys(exported.stdout);
      assert.equal(rest.length, 0);
      assert.equal(key!.fingerprint, fingerprint);
      assert.notEqual(key!.signingFingerprint, fingerprint, "the signing subkey signs");
      assert.equal(key!.validFrom.getTime(), (now - 60) * 1000, "valid from the binding");
      const signed = await signRelease(RELEASE, [key!]);
      // gpg's own export of the public key, as an operator would publish it.
      const gpgKeyring = (await new Deno.Command("gpg", {
        args: ["--batch", "--export", fingerprint],
        env: { GNUPGHOME: home },
        stdout: "piped",
      }).output()).stdout;
      for (const keyring of [publicKeyring([key!]), gpgKeyring]) {
        await withFiles({ keyring, release: RELEASE, ...signed }, async (dir) => {
          // Both name the primary key (what apt's Signed-By fingerprints match).
          expectAll(await verifyAll(dir), [primary]);
        });
      }

      const protectedKey = await gpg([
        "--passphrase",
        "secret",
        "--quick-gen-key",
        "Protected <protected@example.com>",
        "ed25519",
        "sign",
        "never",
      ]);
      assert.equal(protectedKey.code, 0, protectedKey.stderr);
      const exportedProtected = await gpg([
        "--passphrase",
        "secret",
        "--armor",
        "--export-secret-keys",
        "protected@example.com",
      ]);
      await assert.rejects(readSigningKeys(exportedProtected.stdout), /protected by a passphrase/);
    } finally {
      await new Deno.Command("gpgconf", { args: ["--kill", "all"], env: { GNUPGHOME: home } })
        .output();
      await Deno.remove(home, { recursive: true });
    }
  },
});
