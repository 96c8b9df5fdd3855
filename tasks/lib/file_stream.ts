/**
 * Reading a local file as a stream in large chunks.
 *
 * `Deno.FsFile.readable` yields 64 KiB chunks; every chunk then costs a read
 * and three or four native hash updates in series. 1 MiB chunks hash a 500 MB
 * `.deb` at about 290 MB/s instead of 245 (openssl's three passes: ~345 MB/s).
 *
 * @module
 */

/** The default chunk size of {@linkcode openFileStream}. */
export const FILE_CHUNK_BYTES = 1 << 20;

/**
 * A stream of the file at `path`, in chunks of `chunkBytes` (the last one
 * shorter). The file is opened on the first read and closed at the end, on an
 * error, or when the reader cancels.
 */
export function openFileStream(
  path: string,
  options: { chunkBytes?: number } = {},
): ReadableStream<Uint8Array> {
  const chunkBytes = options.chunkBytes ?? FILE_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) {
    throw new RangeError(`Cannot read ${path}: chunkBytes must be a positive integer`);
  }
  let file: Deno.FsFile | undefined;
  const close = () => {
    file?.close();
    file = undefined;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        file ??= await Deno.open(path);
        const buffer = new Uint8Array(chunkBytes);
        const read = await file.read(buffer);
        if (read === null) {
          close();
          controller.close();
        } else {
          controller.enqueue(read === chunkBytes ? buffer : buffer.subarray(0, read));
        }
      } catch (error) {
        close();
        throw error;
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 1 });
}
