/**
 * The `ar` container of a `.deb`: a streaming reader over a byte stream and a
 * deterministic writer.
 *
 * Layout: the global header `!<arch>\n`, then per member a 60-byte header
 * (name 16, mtime 12, uid 6, gid 6, mode 8 octal, size 10 decimal, "`\n"),
 * the member's bytes, and one `\n` of padding after an odd size. Names are
 * plain (`debian-binary`), GNU style (`debian-binary/`) or BSD style
 * (`#1/LEN`, the name stored before the data).
 *
 * @module
 */

/** The global header every `ar` archive starts with. */
export const AR_MAGIC: Uint8Array = new TextEncoder().encode("!<arch>\n");
/** Size of a member header. */
export const AR_HEADER_SIZE = 60;

/** Why an `ar` archive could not be read. */
export type ArProblem = "not-ar" | "bad-header" | "truncated";

/** An `ar` archive that cannot be read. */
export class ArFormatError extends Error {
  /** What is wrong, for callers that branch on it. */
  readonly problem: ArProblem;

  /** @param problem what is wrong; @param message the full message */
  constructor(problem: ArProblem, message: string) {
    super(message);
    this.name = "ArFormatError";
    this.problem = problem;
  }
}

/** A member's header fields. */
export interface ArMemberHeader {
  /** Name without GNU `/` or padding. */
  name: string;
  /** Seconds since the epoch. */
  mtime: number;
  uid: number;
  gid: number;
  /** File mode (e.g. `0o100644`). */
  mode: number;
  /** Size of the member's data in bytes. */
  size: number;
  /** Offset of the member's header in the archive. */
  offset: number;
}

/** A member being read: its header, and its bytes from {@linkcode ArMember.body}. */
export interface ArMember extends ArMemberHeader {
  /**
   * The member's bytes, as slices of the incoming chunks (not copied). Read
   * it before asking for the next member; what is left unread is skipped.
   * Can be called once.
   */
  body(): AsyncIterable<Uint8Array>;
}

/**
 * Reads an ar stream chunk by chunk and keeps at most one incoming chunk (plus a
 * 60-byte header being assembled) in memory.
 */
class ChunkReader {
  #source: AsyncIterator<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #ended = false;
  /** Bytes consumed so far. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.#source = Symbol.asyncIterator in source
      ? source[Symbol.asyncIterator]()
      : (async function* () {
        yield* source;
      })();
  }

  async #fill(): Promise<boolean> {
    while (this.#chunk.byteLength === 0) {
      if (this.#ended) return false;
      const next = await this.#source.next();
      if (next.done === true) {
        this.#ended = true;
        return false;
      }
      this.#chunk = next.value;
    }
    return true;
  }

  /** Up to `n` bytes, copied; fewer only at the end of the stream. */
  async read(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n && await this.#fill()) {
      const take = Math.min(n - have, this.#chunk.byteLength);
      out.set(this.#chunk.subarray(0, take), have);
      this.#chunk = this.#chunk.subarray(take);
      have += take;
    }
    this.position += have;
    return have === n ? out : out.subarray(0, have);
  }

  /** Slices totalling up to `n` bytes; yields fewer only at the end of the stream. */
  async *slices(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0 && await this.#fill()) {
      const take = Math.min(left, this.#chunk.byteLength);
      const slice = this.#chunk.subarray(0, take);
      this.#chunk = this.#chunk.subarray(take);
      left -= take;
      this.position += take;
      yield slice;
    }
  }

  /** Whether the stream has no more bytes. */
  async atEnd(): Promise<boolean> {
    return !await this.#fill();
  }

  /** Stops the source early (e.g. on an error). */
  async cancel(): Promise<void> {
    await this.#source.return?.();
  }
}

const decoder = new TextDecoder("latin1");

function field(header: Uint8Array, start: number, length: number): string {
  return decoder.decode(header.subarray(start, start + length)).replace(/ +$/, "");
}

function numberField(
  header: Uint8Array,
  at: { start: number; length: number; radix: 8 | 10; what: string },
  context: { name: string; offset: number },
): number {
  const text = field(header, at.start, at.length);
  if (text === "") return 0;
  const pattern = at.radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!pattern.test(text)) {
    throw new ArFormatError(
      "bad-header",
      `${context.name}: the ar member header at offset ${context.offset} has an invalid ` +
        `${at.what} ${JSON.stringify(text)}; the file is corrupt or not a .deb`,
    );
  }
  return parseInt(text, at.radix);
}

/** Options of {@linkcode readArMembers}. */
export interface ReadArOptions {
  /** The file's name, for error messages. */
  name: string;
}

/**
 * Reads the members of an `ar` archive from `source`, one at a time, without
 * buffering more than the chunk in hand. Each member's body must be read (or
 * is skipped) before the next member is produced.
 *
 * @throws {ArFormatError} `not-ar` when the global header is missing,
 * `bad-header` for a corrupt member header, `truncated` when the stream ends
 * inside a header or before a member's declared size.
 */
export async function* readArMembers(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadArOptions,
): AsyncGenerator<ArMember> {
  const { name } = options;
  const reader = new ChunkReader(source);
  let finished = false;
  try {
    const magic = await reader.read(AR_MAGIC.byteLength);
    if (magic.byteLength < AR_MAGIC.byteLength || !equalBytes(magic, AR_MAGIC)) {
      throw new ArFormatError(
        "not-ar",
        `${name}: not an ar archive (a .deb starts with "!<arch>\\n"); is this really a .deb file?`,
      );
    }
    let pendingPad = false;
    while (true) {
      if (pendingPad) {
        // The padding byte of an odd-sized member; tolerated if the file ends instead.
        await reader.read(1);
        pendingPad = false;
      }
      if (await reader.atEnd()) break;
      const offset = reader.position;
      const header = await reader.read(AR_HEADER_SIZE);
      if (header.byteLength < AR_HEADER_SIZE) {
        throw new ArFormatError(
          "truncated",
          `${name}: truncated: the file ends inside the ar member header at offset ${offset} ` +
            `(${header.byteLength} of ${AR_HEADER_SIZE} bytes); download it again`,
        );
      }
      if (header[58] !== 0x60 || header[59] !== 0x0a) {
        throw new ArFormatError(
          "bad-header",
          `${name}: the ar member header at offset ${offset} does not end in "\`\\n"; ` +
            `the file is corrupt`,
        );
      }
      const context = { name, offset };
      let memberName = field(header, 0, 16);
      const mtime = numberField(
        header,
        { start: 16, length: 12, radix: 10, what: "mtime" },
        context,
      );
      const uid = numberField(header, { start: 28, length: 6, radix: 10, what: "uid" }, context);
      const gid = numberField(header, { start: 34, length: 6, radix: 10, what: "gid" }, context);
      const mode = numberField(header, { start: 40, length: 8, radix: 8, what: "mode" }, context);
      let size = numberField(header, { start: 48, length: 10, radix: 10, what: "size" }, context);
      const declared = size;
      const bsd = /^#1\/([0-9]+)$/.exec(memberName);
      if (bsd !== null) {
        const length = parseInt(bsd[1] as string, 10);
        if (length > size) {
          throw new ArFormatError(
            "bad-header",
            `${name}: the ar member at offset ${offset} has a name longer than its size`,
          );
        }
        const raw = await reader.read(length);
        if (raw.byteLength < length) throw truncated(name, memberName, offset, declared, raw);
        memberName = decoder.decode(raw).replace(/\0+$/, "");
        size -= length;
      } else if (memberName !== "/" && memberName !== "//" && memberName.endsWith("/")) {
        memberName = memberName.slice(0, -1);
      }
      let started = false;
      let left = size;
      const member: ArMember = {
        name: memberName,
        mtime,
        uid,
        gid,
        mode,
        size,
        offset,
        body: () => {
          if (started) {
            throw new Error(`${name}: the body of ar member ${memberName} was already read`);
          }
          started = true;
          return (async function* () {
            for await (const slice of reader.slices(left)) {
              left -= slice.byteLength;
              yield slice;
            }
            if (left > 0) throw truncated(name, memberName, offset, declared, left);
          })();
        },
      };
      yield member;
      if (left > 0) {
        started = true;
        for await (const slice of reader.slices(left)) left -= slice.byteLength;
        if (left > 0) throw truncated(name, memberName, offset, declared, left);
      }
      pendingPad = declared % 2 === 1;
    }
    finished = true;
  } finally {
    if (!finished) await reader.cancel();
  }
}

function truncated(
  name: string,
  member: string,
  offset: number,
  size: number,
  missing: number | Uint8Array,
): ArFormatError {
  const short = typeof missing === "number" ? `${missing} bytes short` : "its name is cut off";
  return new ArFormatError(
    "truncated",
    `${name}: truncated: ar member ${member} at offset ${offset} declares ${size} bytes ` +
      `but the file ends ${short}; download it again`,
  );
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Options of {@linkcode arHeader} and {@linkcode writeAr}. */
export interface WriteArOptions {
  /** Modification time of every member, seconds since the epoch. Default 0. */
  mtime?: number;
}

const encoder = new TextEncoder();

/**
 * The 60-byte header of a member as dpkg-deb writes it: plain name padded
 * with spaces, uid 0, gid 0, mode 100644.
 *
 * @throws {RangeError} for a name that is empty, longer than 16 bytes, or has
 * `/` or white space, or for a size or mtime out of range.
 */
export function arHeader(name: string, size: number, options: WriteArOptions = {}): Uint8Array {
  const mtime = options.mtime ?? 0;
  if (!/^[\x21-\x7e]{1,16}$/.test(name) || name.includes("/")) {
    throw new RangeError(
      `Invalid ar member name ${JSON.stringify(name)}: use 1 to 16 printable ASCII ` +
        `characters without "/" or spaces`,
    );
  }
  if (!Number.isSafeInteger(size) || size < 0 || size > 9_999_999_999) {
    throw new RangeError(`Invalid ar member size ${size} for ${name}: 0 to 9999999999 bytes`);
  }
  if (!Number.isSafeInteger(mtime) || mtime < 0 || mtime > 999_999_999_999) {
    throw new RangeError(`Invalid ar member mtime ${mtime} for ${name}`);
  }
  const text = name.padEnd(16) + String(mtime).padEnd(12) + "0".padEnd(6) + "0".padEnd(6) +
    "100644".padEnd(8) + String(size).padEnd(10) + "`\n";
  return encoder.encode(text);
}

/** A member to write. */
export interface ArWriteMember {
  name: string;
  data: Uint8Array;
}

/**
 * An `ar` archive holding `members` in order, deterministic: same members and
 * mtime, same bytes.
 */
export function writeAr(
  members: readonly ArWriteMember[],
  options: WriteArOptions = {},
): Uint8Array {
  const names = new Set<string>();
  let total = AR_MAGIC.byteLength;
  for (const member of members) {
    if (names.has(member.name)) throw new RangeError(`Duplicate ar member name ${member.name}`);
    names.add(member.name);
    total += AR_HEADER_SIZE + member.data.byteLength + (member.data.byteLength % 2);
  }
  const out = new Uint8Array(total);
  out.set(AR_MAGIC, 0);
  let at = AR_MAGIC.byteLength;
  for (const member of members) {
    out.set(arHeader(member.name, member.data.byteLength, options), at);
    at += AR_HEADER_SIZE;
    out.set(member.data, at);
    at += member.data.byteLength;
    if (member.data.byteLength % 2 === 1) out[at++] = 0x0a;
  }
  return out;
}
