/**
 * Splitting a clearsigned file (`InRelease`) into its signed text and its
 * signature, by the same rules apt applies before it hands both to `gpgv` or
 * `sqv`: the file must start with the signed-message header, hold only `Hash:`
 * armor headers, no line may start with `-` unless dash-escaped, and nothing
 * but signature blocks may follow the text. Used to check what apt will see.
 *
 * Runs under Deno and Node: no Deno-only APIs here.
 *
 * @module
 */

/** The parts of a clearsigned file. */
export interface ClearsignedParts {
  /**
   * The signed text as apt extracts it: lines joined with `\n`, dash-escaping
   * and trailing white space removed, without the line ending that precedes the
   * signature (so it is the `Release` file without its final `\n`).
   */
  text: string;
  /** The `Hash:` armor header values, e.g. `["SHA512"]`. */
  hashes: string[];
  /** The signature block(s), armored, each line ending with `\n`. */
  signature: string;
}

/** Why a text is not a clearsigned file apt would accept. */
export class ClearsignedFormatError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "ClearsignedFormatError";
  }
}

const BEGIN_MESSAGE = "-----BEGIN PGP SIGNED MESSAGE-----";
const BEGIN_SIGNATURE = "-----BEGIN PGP SIGNATURE-----";
const END_SIGNATURE = "-----END PGP SIGNATURE-----";

/**
 * Splits a clearsigned text into signed text and signature, refusing what apt
 * refuses. `name` names the file in error messages.
 *
 * @throws {ClearsignedFormatError} when apt would refuse the file.
 */
export function splitClearsigned(
  clearsigned: string,
  options: { name?: string } = {},
): ClearsignedParts {
  const name = options.name ?? "InRelease";
  const fail = (why: string) => new ClearsignedFormatError(`Cannot split ${name}: ${why}`);
  // apt reads line by line, dropping \r\n and then trailing blanks.
  const lines = clearsigned.split("\n").map((line) =>
    line.replace(/[\r\n]+$/, "").replace(/[ \t]+$/, "")
  );
  if (clearsigned.endsWith("\n")) lines.pop();
  let at = 0;
  const next = (): string | undefined => lines[at++];

  if (next() !== BEGIN_MESSAGE) {
    throw fail(`the first line is not ${BEGIN_MESSAGE}`);
  }
  const hashes: string[] = [];
  for (;;) {
    const line = next();
    if (line === undefined) throw fail("the armor headers are not followed by a blank line");
    if (line === "") break;
    if (line.startsWith("-")) throw fail("an armor header line starts with a dash");
    if (line.startsWith("Hash: ")) hashes.push(...line.slice(6).split(",").map((h) => h.trim()));
  }
  const text: string[] = [];
  for (;;) {
    const line = next();
    if (line === undefined) throw fail(`the signed text is not followed by ${BEGIN_SIGNATURE}`);
    if (line === BEGIN_SIGNATURE) break;
    if (line.startsWith("- ")) text.push(line.slice(2));
    else if (line.startsWith("-")) {
      throw fail(`line ${at} of the signed text starts with a dash but is not dash-escaped`);
    } else text.push(line);
  }
  const signature = [BEGIN_SIGNATURE];
  let open = true;
  for (let line = next(); line !== undefined; line = next()) {
    if (open) {
      if (line === END_SIGNATURE) open = false;
      else if (line.startsWith("-")) {
        throw fail(`line ${at} inside the signature starts with a dash`);
      }
    } else if (line === BEGIN_SIGNATURE) open = true;
    else throw fail(`line ${at} after the signature is not signed`);
    signature.push(line);
  }
  if (open) throw fail(`the signature is not closed by ${END_SIGNATURE}`);
  return { text: text.join("\n"), hashes, signature: signature.join("\n") + "\n" };
}
