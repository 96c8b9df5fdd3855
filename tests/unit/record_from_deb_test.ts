import assert from "node:assert/strict";
import { readDebBytes } from "../../lambda/deb/deb_reader.ts";
import {
  NOTES_CUT_MARKER,
  NOTES_LIMIT_BYTES,
  notesWereCut,
  recordFromDeb,
} from "../../lambda/domain/record_from_deb.ts";
import { writeTar } from "../../lambda/deb/tar.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";

const DEB = {
  control: {
    package: "kiro",
    Version: "1:1.0.337~rc1",
    Architecture: "amd64",
    Maintainer: "Kiro Team <support@kiro.dev>",
    Description: "The IDE\n Long text.",
    Depends: "libc6 (>= 2.36)",
  },
  size: 1234,
  md5: "0".repeat(32),
  sha1: "1".repeat(40),
  sha256: "2".repeat(64),
  controlBytes: 200,
  dataMember: "data.tar",
  dataHead: { bytes: writeTar([{ path: "./", type: "directory", mode: 0o755 }], { mtime: 0 }) },
};

Deno.test("a record from a .deb takes name, version, architecture and Debian fields from its control paragraph", () => {
  const record = recordFromDeb(DEB, {
    packageType: "external_download",
    debUrl: "https://example.com/kiro.deb",
    fileName: "kiro.deb",
    processedAt: new Date("2026-11-22T10:00:00Z"),
    pubDate: "2026-11-21",
    defaults: { maintainer: "Config <c@example.com>", section: "editors", depends: "other" },
    certificateUrl: "https://example.com/certificate.pem",
    signatureUrl: "https://example.com/signature.bin",
    notes: "Fixes",
    architectures: undefined,
  });
  assert.deepEqual(record, {
    package_id: "kiro#1:1.0.337~rc1",
    package_name: "kiro",
    version: "1:1.0.337~rc1",
    architecture: "amd64",
    package_type: "external_download",
    pub_date: "2026-11-21",
    processed_timestamp: "2026-11-22T10:00:00.000Z",
    deb_url: "https://example.com/kiro.deb",
    actual_filename: "kiro.deb",
    channels: ["stable"],
    pool_key: "pool/main/k/kiro/kiro_1:1.0.337~rc1_amd64.deb",
    file_size: 1234,
    md5_hash: DEB.md5,
    sha1_hash: DEB.sha1,
    sha256_hash: DEB.sha256,
    // The control paragraph wins; the configuration fills only what it lacks.
    section: "editors",
    priority: "",
    maintainer: "Kiro Team <support@kiro.dev>",
    homepage: "",
    description: "The IDE\n Long text.",
    depends: "libc6 (>= 2.36)",
    control: DEB.control,
    certificate_url: "https://example.com/certificate.pem",
    signature_url: "https://example.com/signature.bin",
    status: "published",
    notes: "Fixes",
  });
});

Deno.test("a record from a .deb without Depends, pub date or notes leaves them out", async () => {
  const info = await readDebBytes(
    await makeTestDeb({ name: "kiro-repo", version: "2", architecture: "all" }),
    { name: "kiro-repo_2_all.deb" },
  );
  const control = Object.fromEntries(
    Object.entries(info.control).filter(([name]) => name.toLowerCase() !== "depends"),
  );
  const record = recordFromDeb({ ...info, control }, {
    packageType: "upload",
    debUrl: "file://kiro-repo_2_all.deb",
    fileName: "kiro-repo_2_all.deb",
    processedAt: new Date("2026-11-22T10:00:00Z"),
    notes: "",
    architectures: undefined,
  });
  assert.equal(record.pub_date, "2026-11-22T10:00:00.000Z");
  assert.equal(record.pool_key, "pool/main/k/kiro-repo/kiro-repo_2_all.deb");
  assert.equal(record.sha256_hash, info.sha256);
  for (const absent of ["depends", "notes", "certificate_url", "signature_url"]) {
    assert.equal(absent in record, false, absent);
  }
});

Deno.test("release notes longer than the limit are cut with a marker, shorter ones kept whole", () => {
  const provenance = {
    packageType: "external_download" as const,
    debUrl: "https://example.com/kiro.deb",
    fileName: "kiro.deb",
    processedAt: new Date("2026-11-22T10:00:00Z"),
    architectures: undefined,
  };
  const long = "é".repeat(NOTES_LIMIT_BYTES);
  const cut = recordFromDeb(DEB, { ...provenance, notes: long });
  assert.ok(cut.notes!.endsWith(NOTES_CUT_MARKER));
  assert.ok(new TextEncoder().encode(cut.notes!).byteLength <= NOTES_LIMIT_BYTES);
  assert.ok(long.startsWith(cut.notes!.slice(0, -NOTES_CUT_MARKER.length)));
  assert.equal(notesWereCut(cut), true);
  const kept = recordFromDeb(DEB, { ...provenance, notes: "Fixes" });
  assert.equal(kept.notes, "Fixes");
  assert.equal(notesWereCut(kept), false);
});
