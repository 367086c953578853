/**
 * @module Argon2 — argon2id/i/d (RFC 9106, version 0x13) on one wasm instance per isolate.
 *
 * The memory-filling core is argon2-wasm-edge's `argon2.wasm` (hash-wasm's C), imported as a compiled
 * module because workerd refuses compiling wasm bytes at run time; BLAKE2b (H0 and H') is @noble/hashes.
 * The package's own JS instantiates a fresh wasm memory of m KiB per hash and lets the GC find it:
 * under load the bench saw workerd's RSS reach 1.7 GiB. Here one instance is kept, its memory grows to
 * the largest m seen (19 MiB at ARGON2_PARAMS) and is reused; a hash is one synchronous call, so
 * concurrent requests in an isolate never share it mid-hash.
 */
import { blake2b } from "@noble/hashes/blake2.js";
import argon2Wasm from "argon2-wasm-edge/wasm/argon2.wasm";

interface Argon2Exports {
  memory: WebAssembly.Memory;
  Hash_GetBuffer(): number;
  Hash_SetMemorySize(totalBytes: number): number;
  Hash_Calculate(length: number, memoryKiB: number): void;
}

export type Argon2Variant = "argon2d" | "argon2i" | "argon2id";
const TYPE: Record<Argon2Variant, number> = { argon2d: 0, argon2i: 1, argon2id: 2 };
const VERSION = 0x13;

let instance: Argon2Exports | null = null;
function core(): Argon2Exports {
  instance ??= new WebAssembly.Instance(argon2Wasm, {}).exports as unknown as Argon2Exports;
  return instance;
}

function le32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** H' (RFC 9106 §3.3): BLAKE2b stretched to `length` bytes. */
function hPrime(input: Uint8Array, length: number): Uint8Array {
  const prefixed = concat(le32(length), input);
  if (length <= 64) return blake2b(prefixed, { dkLen: length });
  const out = new Uint8Array(length);
  const r = Math.ceil(length / 32) - 2;
  let v = blake2b(prefixed, { dkLen: 64 });
  out.set(v.subarray(0, 32), 0);
  for (let i = 1; i < r; i++) {
    v = blake2b(v, { dkLen: 64 });
    out.set(v.subarray(0, 32), i * 32);
  }
  out.set(blake2b(v, { dkLen: length - 32 * r }), 32 * r);
  return out;
}

export interface Argon2Params {
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
}

/** The raw tag of `hashBytes` bytes. Synchronous: it holds the isolate for the whole hash (~45 ms at 19 MiB, t=2). */
export function argon2(
  variant: Argon2Variant,
  password: Uint8Array,
  salt: Uint8Array,
  params: Argon2Params,
  hashBytes: number,
): Uint8Array {
  const { memoryKiB, timeCost, parallelism } = params;
  const wasm = core();
  const base = wasm.Hash_GetBuffer();
  // Grows only (its return is -1 when the memory is already larger, which is fine); checked below.
  wasm.Hash_SetMemorySize(memoryKiB * 1024 + 1024);
  if (wasm.memory.buffer.byteLength < base + memoryKiB * 1024 + 1024) throw new RangeError(`argon2: cannot allocate ${memoryKiB} KiB`);
  const memory = new Uint8Array(wasm.memory.buffer, base, memoryKiB * 1024 + 1024);
  // The core XORs new blocks into old ones even on the first pass: a reused memory must start zeroed.
  memory.fill(0);
  const header = new Uint8Array(24);
  const view = new DataView(header.buffer);
  [parallelism, hashBytes, memoryKiB, timeCost, VERSION, TYPE[variant]].forEach((value, i) => view.setUint32(i * 4, value, true));
  memory.set(header, memoryKiB * 1024);
  const h0 = blake2b(concat(header, le32(password.length), password, le32(salt.length), salt, le32(0), le32(0)), { dkLen: 64 });
  const laneBlocks = Math.floor(memoryKiB / (parallelism * 4)) * 4;
  for (let lane = 0; lane < parallelism; lane++) {
    memory.set(hPrime(concat(h0, le32(0), le32(lane)), 1024), lane * laneBlocks * 1024);
    memory.set(hPrime(concat(h0, le32(1), le32(lane)), 1024), (lane * laneBlocks + 1) * 1024);
  }
  wasm.Hash_Calculate(0, memoryKiB);
  // The final block C is left at the start of the buffer.
  const tag = hPrime(new Uint8Array(wasm.memory.buffer, base, 1024).slice(), hashBytes);
  memory.fill(0, 0, 1024);
  return tag;
}
