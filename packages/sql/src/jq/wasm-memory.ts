/** WebAssembly pages are 64 KiB. */
export const WASM_PAGE = 64 * 1024;

/**
 * A copy of a WebAssembly binary whose own memory may grow to at most `maxPages` pages. Emscripten
 * builds declare their memory in the module with a maximum (jq-wasm's: 4,096 pages, 256 MiB); lowering
 * it makes `memory.grow` fail past the cap, so jq's allocator reports "out of memory" and aborts the call
 * instead of taking hundreds of megabytes for a program such as `[range(1e9)]`.
 *
 * Only the maximum of the first memory is rewritten, in place: the new value is written in the same
 * number of LEB128 bytes as the old one (padded), so no section size changes. Throws when the binary has
 * no such memory or the cap is below the memory's initial size.
 */
export function capWasmMemory(binary: Uint8Array, maxPages: number): Uint8Array {
  const bytes = Uint8Array.from(binary);
  let pos = 8; // magic number and version
  const readLeb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[pos++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (pos < bytes.length) {
    const id = bytes[pos++] as number;
    const size = readLeb();
    const end = pos + size;
    if (id === 5 /* memory section */) {
      const count = readLeb();
      const flags = bytes[pos++] as number;
      if (count < 1 || (flags & 1) === 0) break;
      const initial = readLeb();
      if (maxPages < initial) {
        throw new RangeError(`the memory cap (${maxPages} pages) is below the module's initial memory (${initial} pages)`);
      }
      const start = pos;
      readLeb();
      writePaddedLeb(bytes, start, pos - start, maxPages);
      return bytes;
    }
    pos = end;
  }
  throw new Error('the WebAssembly module declares no memory with a maximum');
}

/** Writes `value` as LEB128 in exactly `width` bytes (continuation bits on all but the last). */
function writePaddedLeb(bytes: Uint8Array, at: number, width: number, value: number): void {
  if (value >= 2 ** (7 * width)) throw new RangeError(`${value} does not fit in ${width} LEB128 bytes`);
  let rest = value;
  for (let i = 0; i < width; i++) {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    bytes[at + i] = i < width - 1 ? low | 0x80 : low;
  }
}
