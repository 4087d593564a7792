import { describe, expect, it } from '@jest/globals';
import { WASM_PAGE, capWasmMemory } from './wasm-memory';

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { m: { grow(pages: number): number; buffer: ArrayBuffer } } };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A module with one memory of `min` pages, at most `max` (written in two LEB128 bytes), exported as "m". */
function moduleWithMemory(min: number, max: number): Uint8Array {
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x05, 0x05, 0x01, 0x01, min, (max & 0x7f) | 0x80, max >> 7, // memory section: 1 memory, flags 1 (has max)
    0x07, 0x05, 0x01, 0x01, 0x6d, 0x02, 0x00, // export section: "m" = memory 0
  ]);
}

describe(capWasmMemory.name, () => {
  it('lowers the maximum so memory.grow fails past it, in place', () => {
    const original = moduleWithMemory(1, 300);
    const capped = capWasmMemory(original, 3);
    expect(capped).toHaveLength(original.length);
    expect(original[13]).toBe((300 & 0x7f) | 0x80); // the input is left as it was
    const memory = new Wasm.Instance(new Wasm.Module(capped)).exports.m;
    expect(memory.grow(2)).toBe(1);
    expect(memory.buffer.byteLength).toBe(3 * WASM_PAGE);
    expect(() => memory.grow(1)).toThrow(RangeError);
  });

  it('refuses a cap below the initial memory, and a module without a bounded memory', () => {
    expect(() => capWasmMemory(moduleWithMemory(4, 300), 3)).toThrow(/below the module's initial memory \(4 pages\)/);
    expect(() => capWasmMemory(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), 3)).toThrow(/no memory with a maximum/);
  });
});
