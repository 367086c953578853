/**
 * @module PBKDF2-HMAC-SHA256 in plain JS, for iteration counts a deployed Worker's WebCrypto refuses
 * (more than 100 000 per call). The HMAC inner and outer states are hashed once, so each iteration costs
 * two SHA-256 compressions on preallocated Int32 words — no allocation in the loop.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** One SHA-256 compression of the 16 words `block` into `state` (8 words), using `w` (64 words) as scratch. */
function compress(state: Int32Array, block: Int32Array, w: Int32Array): void {
  for (let i = 0; i < 16; i++) w[i] = block[i]!;
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!,
    b = state[1]!,
    c = state[2]!,
    d = state[3]!,
    e = state[4]!,
    f = state[5]!,
    g = state[6]!,
    h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/**
 * One compression of a 32-byte message already in w[0..7], its padding for a 96-byte HMAC input in w[8..15] (never
 * overwritten here), from `init` into `out`: PBKDF2's inner loop, with no copies of the block and the choice and
 * majority functions in their 3-operation forms. 25-35 % less CPU than compress() per iteration (bench/signin-timing.mjs).
 */
function compress32(init: Int32Array, w: Int32Array, out: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    w[i] =
      (w[i - 16]! +
        (((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)) +
        w[i - 7]! +
        (((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10))) |
      0;
  }
  let a = init[0]!,
    b = init[1]!,
    c = init[2]!,
    d = init[3]!,
    e = init[4]!,
    f = init[5]!,
    g = init[6]!,
    h = init[7]!;
  for (let i = 0; i < 64; i++) {
    const t1 =
      (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i]! + w[i]!) | 0;
    const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b)))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[0] = (init[0]! + a) | 0;
  out[1] = (init[1]! + b) | 0;
  out[2] = (init[2]! + c) | 0;
  out[3] = (init[3]! + d) | 0;
  out[4] = (init[4]! + e) | 0;
  out[5] = (init[5]! + f) | 0;
  out[6] = (init[6]! + g) | 0;
  out[7] = (init[7]! + h) | 0;
}

/** SHA-256 of arbitrary bytes starting from `state` after `prefixBytes` already compressed (for HMAC's pads). */
function sha256From(state: Int32Array, prefixBytes: number, data: Uint8Array): Int32Array {
  const out = state.slice();
  const total = prefixBytes + data.length;
  const padded = new Uint8Array(Math.ceil((data.length + 9) / 64) * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor((total * 8) / 2 ** 32));
  view.setUint32(padded.length - 4, (total * 8) >>> 0);
  const block = new Int32Array(16);
  const w = new Int32Array(64);
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) block[i] = view.getInt32(offset + i * 4);
    compress(out, block, w);
  }
  return out;
}

function wordsToBytes(words: Int32Array): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) view.setInt32(i * 4, words[i]!);
  return bytes;
}

/** PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) of `password` and `salt`, `dkLen` bytes. Synchronous: it holds the isolate. */
export function pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: number, dkLen = 32): Uint8Array {
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`PBKDF2 iterations must be positive, got ${iterations}`);
  let key = password;
  if (key.length > 64) key = wordsToBytes(sha256From(IV, 0, key));
  const ipad = new Uint8Array(64).fill(0x36);
  const opad = new Uint8Array(64).fill(0x5c);
  for (let i = 0; i < key.length; i++) {
    ipad[i]! ^= key[i]!;
    opad[i]! ^= key[i]!;
  }
  const block = new Int32Array(16);
  const w = new Int32Array(64);
  const load = (bytes: Uint8Array) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, 64);
    for (let i = 0; i < 16; i++) block[i] = view.getInt32(i * 4);
  };
  const inner = IV.slice();
  load(ipad);
  compress(inner, block, w);
  const outer = IV.slice();
  load(opad);
  compress(outer, block, w);

  const output = new Uint8Array(dkLen);
  const state = new Int32Array(8);
  const u = new Int32Array(8);
  const t = new Int32Array(8);
  for (let blockIndex = 1, offset = 0; offset < dkLen; blockIndex++, offset += 32) {
    const saltBlock = new Uint8Array(salt.length + 4);
    saltBlock.set(salt);
    new DataView(saltBlock.buffer).setUint32(salt.length, blockIndex);
    // U1 = HMAC(P, S || INT(i)); later U_j = HMAC(P, U_{j-1}), each a 32-byte message: one padded block.
    u.set(sha256From(outer, 64, wordsToBytes(sha256From(inner, 64, saltBlock))));
    t.set(u);
    const schedule = new Int32Array(64);
    schedule[8] = 0x80000000;
    schedule[15] = (64 + 32) * 8;
    for (let j = 1; j < iterations; j++) {
      for (let i = 0; i < 8; i++) schedule[i] = u[i]!;
      compress32(inner, schedule, state);
      for (let i = 0; i < 8; i++) schedule[i] = state[i]!;
      compress32(outer, schedule, u);
      for (let i = 0; i < 8; i++) t[i]! ^= u[i]!;
    }
    output.set(wordsToBytes(t).subarray(0, Math.min(32, dkLen - offset)), offset);
  }
  return output;
}
