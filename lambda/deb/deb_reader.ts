/**
 * Reads a `.deb` in one streaming pass: every byte is hashed (size, MD5,
 * SHA1, SHA256), the control member is decompressed and its `control` file
 * parsed, the data member is only hashed — never decompressed nor buffered —
 * so memory use does not grow with the file's size.
 *
 * @module
 */

import { readAllBytes } from "../bytes.ts";
import { ArFormatError, readArMembers } from "./ar.ts";
import { ControlSyntaxError, getField, parseControl } from "./control.ts";
import type { ControlFields } from "./control.ts";
import {
  type Compression,
  compressionOf,
  decompress,
  decompressHead,
  DecompressionError,
} from "./decompress.ts";
import { MultiHasher } from "../hashing.ts";
import { normalizeTarPath, readTar, TAR_BLOCK_BYTES, TarFormatError } from "./tar.ts";

/** What is wrong with a `.deb`, for callers that branch on it. */
export type DebProblem =
  | "not-ar"
  | "corrupt"
  | "truncated"
  | "missing-debian-binary"
  | "unsupported-version"
  | "missing-control"
  | "missing-data"
  | "unexpected-member"
  | "unknown-compression"
  | "bad-control"
  | "missing-field";

/** A file that is not a readable `.deb`. The message names the file. */
export class DebFormatError extends Error {
  /** The file's name as given to the reader. */
  readonly file: string;
  /** What is wrong. */
  readonly problem: DebProblem;

  /** @param file the file's name; @param problem what is wrong; @param message the full message */
  constructor(file: string, problem: DebProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DebFormatError";
    this.file = file;
    this.problem = problem;
  }
}

/**
 * The start of the data member, decompressed: its first tar block (fewer
 * bytes when the member is shorter), or why it could not be decompressed.
 * The door (`lambda/deb/door.ts`) decides what it means.
 */
export type DataHead = { bytes: Uint8Array } | { problem: string };

/** What {@linkcode readDebHead} returns: the `.deb` up to the start of its data member. */
export interface DebHead {
  /** The control paragraph of the package (`DEBIAN/control`). */
  control: ControlFields;
  /** The control paragraph's size in bytes, as the `.deb` holds it. */
  controlBytes: number;
  /** How the control member was compressed. */
  controlCompression: Compression;
  /** The data member's name (`data.tar.xz`, …). */
  dataMember: string;
  /** The start of the data member. */
  dataHead: DataHead;
}

/** What {@linkcode readDeb} returns. */
export interface DebInfo extends DebHead {
  /** Size of the whole file in bytes. */
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  /** Only when {@linkcode ReadDebOptions.sha512} is set. */
  sha512?: string;
}

/** Options of {@linkcode readDeb}. */
export interface ReadDebOptions {
  /** The file's name (or URL), named in every error message. */
  name: string;
  /** Largest control member accepted, compressed and decompressed. Default 64 MiB. */
  maxControlBytes?: number;
  /** Also compute SHA512 (as apt-ftparchive lists by default). Default `false`. */
  sha512?: boolean;
}

const DEFAULT_MAX_CONTROL_BYTES = 64 * 1024 * 1024;
const DATA_SUFFIXES = new Set(["", ".gz", ".xz", ".zst", ".bz2", ".lzma"]);
const REQUIRED_FIELDS = ["Package", "Version", "Architecture"] as const;

/**
 * Reads the `.deb` coming from `stream` to its end: its control paragraph, size
 * and digests. The data member is hashed but not decompressed; only the
 * control member is held in memory (at most `maxControlBytes`).
 *
 * @throws {DebFormatError} naming `options.name` when the file is not an ar
 * archive, lacks `debian-binary`, has an unsupported format version, lacks the
 * control or data member, uses an unknown compression, is truncated or
 * corrupt, or its control file is invalid or lacks Package, Version or Architecture.
 */
export async function readDeb(
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: ReadDebOptions,
): Promise<DebInfo> {
  const hasher = new MultiHasher({ sha512: options.sha512 === true });
  const head = await readMembers(stream, { ...options, hasher, stopAtData: false });
  const digests = hasher.digest();
  return {
    ...head,
    size: digests.size,
    md5: digests.md5,
    sha1: digests.sha1,
    sha256: digests.sha256,
    ...(digests.sha512 !== undefined ? { sha512: digests.sha512 } : {}),
  };
}

/**
 * Reads a `.deb` from `stream` up to the start of its data member (control
 * paragraph and the data member's first block) and cancels the rest: what the
 * migration reads of a pool object. Same errors as {@linkcode readDeb}.
 */
export function readDebHead(
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: ReadDebOptions,
): Promise<DebHead> {
  return readMembers(stream, { ...options, stopAtData: true });
}

async function readMembers(
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: ReadDebOptions & { hasher?: MultiHasher; stopAtData: boolean },
): Promise<DebHead> {
  const { name, hasher } = options;
  const maxControlBytes = options.maxControlBytes ?? DEFAULT_MAX_CONTROL_BYTES;
  const hashed = (async function* () {
    for await (const chunk of stream) {
      hasher?.update(chunk);
      yield chunk;
    }
  })();

  let index = 0;
  let controlText: string | undefined;
  let controlMember = "";
  let controlCompression: Compression | undefined;
  let dataMember: string | undefined;
  let dataHead: DataHead = { bytes: new Uint8Array(0) };
  try {
    for await (const member of readArMembers(hashed, { name })) {
      const position = index++;
      if (position === 0) {
        if (member.name !== "debian-binary") {
          throw new DebFormatError(
            name,
            "missing-debian-binary",
            `${name}: not a Debian binary package: its first ar member is ` +
              `${JSON.stringify(member.name)}, not "debian-binary"`,
          );
        }
        const bytes = await readAllBytes(member.body(), {
          maxBytes: 1024,
          tooLarge: () =>
            new DebFormatError(
              name,
              "unsupported-version",
              `${name}: the debian-binary member is ${member.size} bytes; ` +
                `a .deb's holds the format version "2.0"`,
            ),
        });
        const version = new TextDecoder().decode(bytes).split("\n")[0]?.trim() ?? "";
        if (!/^2\.[0-9]+$/.test(version)) {
          throw new DebFormatError(
            name,
            "unsupported-version",
            `${name}: unsupported .deb format version ${JSON.stringify(version)} ` +
              `in debian-binary (only 2.x is supported)`,
          );
        }
        continue;
      }
      if (dataMember !== undefined || member.name.startsWith("_")) {
        // Members after data.tar and "_" members (e.g. signatures) are only hashed.
        continue;
      }
      if (member.name.startsWith("control.tar")) {
        if (controlCompression !== undefined) {
          throw new DebFormatError(
            name,
            "unexpected-member",
            `${name}: a second control member ${member.name} after ${controlMember}`,
          );
        }
        const compression = compressionOf(member.name, "control.tar");
        if (compression === undefined) throw unknownCompression(name, member.name);
        controlMember = member.name;
        controlCompression = compression;
        const packed = await readAllBytes(member.body(), {
          maxBytes: maxControlBytes,
          tooLarge: () =>
            new DebFormatError(
              name,
              "corrupt",
              `${name}: the ${member.name} member is ${member.size} bytes, more than the ` +
                `${maxControlBytes} bytes accepted for a control member`,
            ),
        });
        controlText = await controlFromMember(packed, compression, {
          name,
          member: member.name,
          maxBytes: maxControlBytes,
        });
        continue;
      }
      if (member.name.startsWith("data.tar")) {
        if (controlCompression === undefined) {
          throw new DebFormatError(
            name,
            "missing-control",
            `${name}: the data member ${member.name} comes before any control.tar member; ` +
              `a .deb holds debian-binary, control.tar.*, data.tar.* in this order`,
          );
        }
        if (!DATA_SUFFIXES.has(member.name.slice("data.tar".length))) {
          throw unknownCompression(name, member.name);
        }
        dataMember = member.name;
        dataHead = await readDataHead(member.body(), { name, member: member.name });
        if (options.stopAtData) break;
        continue;
      }
      throw new DebFormatError(
        name,
        "unexpected-member",
        `${name}: unexpected ar member ${JSON.stringify(member.name)} before the data member ` +
          `(a .deb holds debian-binary, control.tar.*, data.tar.*)`,
      );
    }
  } catch (error) {
    if (error instanceof DebFormatError) throw error;
    if (error instanceof ArFormatError) {
      const problem = error.problem === "bad-header" ? "corrupt" : error.problem;
      throw new DebFormatError(name, problem, error.message, { cause: error });
    }
    throw error;
  }
  if (index === 0) {
    throw new DebFormatError(
      name,
      "missing-debian-binary",
      `${name}: empty ar archive: a .deb needs debian-binary, control.tar.* and data.tar.*`,
    );
  }
  if (controlText === undefined || controlCompression === undefined) {
    throw new DebFormatError(
      name,
      "missing-control",
      `${name}: no control.tar member (control.tar, .gz, .xz or .zst); not a valid .deb`,
    );
  }
  if (dataMember === undefined) {
    throw new DebFormatError(
      name,
      "missing-data",
      `${name}: no data.tar member after ${controlMember}; not a valid .deb`,
    );
  }
  let control: ControlFields;
  try {
    control = parseControl(controlText, { source: `${name}: ${controlMember} ./control` });
  } catch (error) {
    if (!(error instanceof ControlSyntaxError)) throw error;
    throw new DebFormatError(name, "bad-control", error.message, { cause: error });
  }
  const missing = REQUIRED_FIELDS.filter((field) => (getField(control, field) ?? "") === "");
  if (missing.length > 0) {
    throw new DebFormatError(
      name,
      "missing-field",
      `${name}: the control file has no ${missing.join(", ")} field${
        missing.length > 1 ? "s" : ""
      }; a .deb needs Package, Version and Architecture`,
    );
  }
  return {
    control,
    controlBytes: new TextEncoder().encode(controlText).byteLength,
    controlCompression,
    dataMember,
    dataHead,
  };
}

/** {@linkcode readDeb} over bytes already in memory. */
export function readDebBytes(bytes: Uint8Array, options: ReadDebOptions): Promise<DebInfo> {
  return readDeb(
    (async function* () {
      yield bytes;
    })(),
    options,
  );
}

async function readDataHead(
  body: AsyncIterable<Uint8Array>,
  context: { name: string; member: string },
): Promise<DataHead> {
  const compression = compressionOf(context.member, "data.tar");
  if (compression === undefined) {
    return {
      problem: `${context.member} uses a compression kiro cannot read (none, .gz, .xz and .zst ` +
        `can be read)`,
    };
  }
  try {
    return {
      bytes: await decompressHead(body, compression, {
        name: `${context.name}: ${context.member}`,
        bytes: TAR_BLOCK_BYTES,
      }),
    };
  } catch (error) {
    if (error instanceof DecompressionError) return { problem: error.message };
    throw error;
  }
}

function unknownCompression(name: string, member: string): DebFormatError {
  return new DebFormatError(
    name,
    "unknown-compression",
    `${name}: the ar member ${member} uses an unknown compression; ` +
      `supported are none, .gz, .xz and .zst (and .bz2, .lzma for data.tar)`,
  );
}

async function controlFromMember(
  packed: Uint8Array,
  compression: Compression,
  context: { name: string; member: string; maxBytes: number },
): Promise<string> {
  const { name, member } = context;
  try {
    const tar = await decompress(packed, compression, {
      name: `${name}: ${member}`,
      maxBytes: context.maxBytes,
    });
    const entries = await readTar(tar, { name: `${name}: ${member}` });
    const entry = entries.find((candidate) => normalizeTarPath(candidate.name) === "control");
    if (entry === undefined) {
      throw new DebFormatError(
        name,
        "missing-control",
        `${name}: ${member} has no ./control file (it holds ${
          entries.map((candidate) => candidate.name).join(", ") || "nothing"
        })`,
      );
    }
    if (entry.type !== "file") {
      throw new DebFormatError(
        name,
        "missing-control",
        `${name}: ./control in ${member} is a ${entry.type}, not a regular file`,
      );
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(entry.data);
    } catch (error) {
      throw new DebFormatError(
        name,
        "bad-control",
        `${name}: ${member} ./control is not valid UTF-8`,
        { cause: error },
      );
    }
  } catch (error) {
    if (error instanceof DecompressionError || error instanceof TarFormatError) {
      throw new DebFormatError(name, "corrupt", error.message, { cause: error });
    }
    throw error;
  }
}
