/**
 * The door: the one validation every `.deb` passes before it can become a
 * record, whatever brought it (`add-deb`, the scheduled sync, the kiro-repo
 * build, the migration's pool read). `docs/architecture.md` names this module
 * as the only place these rules live:
 *
 * - the data member is a tar archive: its first header reads, and the archive
 *   is not empty (apt would download a package `dpkg` cannot unpack);
 * - the architecture is one the repository publishes (the stack setting
 *   `architectures`, default `amd64`, `arm64`, `all`: `domain/architectures.ts`); `source`
 *   never. A new architecture is a configuration change, never the side
 *   effect of one upload;
 * - the name, the version and the pool file name fit what apt and S3 store
 *   ({@linkcode DOOR_LIMITS}), and the control paragraph is bounded, so the
 *   record stays far below DynamoDB's item limit.
 *
 * @module
 */

import { getField } from "./control.ts";
import type { DebHead } from "./deb_reader.ts";
import { readTarHeader, TarFormatError } from "./tar.ts";
import { DEFAULT_ARCHITECTURES } from "../domain/architectures.ts";
import { poolKey } from "../domain/pool_path.ts";

/** The limits the door enforces, in bytes (UTF-8). */
export const DOOR_LIMITS = {
  /** `Package`: far above any Debian name, and part of the pool file name. */
  nameBytes: 128,
  /** `Version`: part of the pool file name, which apt saves under its own name. */
  versionBytes: 128,
  /** The pool file name as apt saves it (`:` written `%3a`): a file name's limit on Linux. */
  fileNameBytes: 255,
  /** The control paragraph: the record holds it, under DynamoDB's 400 KB item limit. */
  controlBytes: 64 * 1024,
} as const;

/** A `.deb` the door refuses: the message names the file, the field and what to do. */
export class DebRefusedError extends Error {
  /** The file's name as given to the door. */
  readonly file: string;
  /** What is refused: `data`, `Architecture`, `Package`, `Version`, `file name`, `control`. */
  readonly field: string;

  /** @param file the file's name; @param field what is refused; @param message the full message */
  constructor(file: string, field: string, message: string) {
    super(message);
    this.name = "DebRefusedError";
    this.file = file;
    this.field = field;
  }
}

/** Options of {@linkcode admitDeb}. */
export interface DoorOptions {
  /** The file's name (or redacted URL), named in every message. */
  name: string;
  /** The architectures the repository publishes. Default {@linkcode DEFAULT_ARCHITECTURES}. */
  architectures?: readonly string[] | undefined;
}

const encoder = new TextEncoder();

function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}

/**
 * Lets `deb` in or throws {@linkcode DebRefusedError} saying why (see the
 * module docs). `deb` is what `readDeb` or `readDebHead` read.
 *
 * @example
 * ```ts
 * admitDeb(await readDebBytes(bytes, { name }), { name, architectures: ["amd64", "all"] });
 * ```
 */
export function admitDeb(
  deb: Pick<DebHead, "control" | "controlBytes" | "dataMember" | "dataHead">,
  options: DoorOptions,
): void {
  const { name } = options;
  const architectures = options.architectures ?? DEFAULT_ARCHITECTURES;
  const refuse = (field: string, message: string): never => {
    throw new DebRefusedError(name, field, `${name}: ${message}`);
  };

  if (deb.controlBytes > DOOR_LIMITS.controlBytes) {
    refuse(
      "control",
      `its control paragraph is ${deb.controlBytes} bytes, over the limit of ` +
        `${DOOR_LIMITS.controlBytes} bytes; shorten the control file (usually Description)`,
    );
  }
  const field = (fieldName: string) => getField(deb.control, fieldName) ?? "";
  const packageName = field("Package");
  const version = field("Version");
  const architecture = field("Architecture");
  for (
    const [fieldName, value, limit] of [
      ["Package", packageName, DOOR_LIMITS.nameBytes],
      ["Version", version, DOOR_LIMITS.versionBytes],
    ] as const
  ) {
    const length = byteLength(value);
    if (length > limit) {
      refuse(
        fieldName,
        `its ${fieldName} is ${length} bytes long, over the limit of ${limit} bytes ` +
          `(apt saves the package under a file name holding it); use a shorter ${fieldName}`,
      );
    }
  }
  if (architecture === "source") {
    refuse(
      "Architecture",
      `its Architecture is "source": the repository publishes binary packages only; ` +
        `add the binary .deb built from it`,
    );
  }
  if (!architectures.includes(architecture)) {
    refuse(
      "Architecture",
      `its Architecture ${JSON.stringify(architecture)} is not one this repository publishes ` +
        `(${architectures.join(", ")}); add it to the stack setting "architectures" ` +
        `to publish it`,
    );
  }
  const key = poolKey({ name: packageName, version, architecture });
  const fileName = key.slice(key.lastIndexOf("/") + 1).replaceAll(":", "%3a");
  const fileBytes = byteLength(fileName);
  if (fileBytes > DOOR_LIMITS.fileNameBytes) {
    refuse(
      "file name",
      `its pool file name ${fileName} is ${fileBytes} bytes long, over the limit of ` +
        `${DOOR_LIMITS.fileNameBytes} bytes apt can save; use a shorter Package or Version`,
    );
  }

  const member = deb.dataMember;
  if ("problem" in deb.dataHead) {
    refuse(
      "data",
      `its data member ${member} cannot be read (${deb.dataHead.problem}); ` +
        `rebuild the package with dpkg-deb`,
    );
    return;
  }
  let header;
  try {
    header = readTarHeader(deb.dataHead.bytes, { name: member });
  } catch (error) {
    if (!(error instanceof TarFormatError)) throw error;
    return refuse(
      "data",
      `its data member is not a tar archive (${error.message}); rebuild the package with dpkg-deb`,
    );
  }
  if (header === undefined) {
    refuse(
      "data",
      `its data member ${member} is an empty tar archive: the package installs nothing ` +
        `and dpkg cannot unpack it; rebuild the package with its files`,
    );
  }
}
