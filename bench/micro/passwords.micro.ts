/**
 * Password hashing candidates inside workerd: CPU per hash and memory, printed, never asserted.
 * Run: npx vitest run --config vitest.bench.config.ts bench/micro/passwords.micro.ts
 */
import { it } from "vitest";
import { argon2id as wasmArgon2id, setWASMModules } from "argon2-wasm-edge";
import argon2WASM from "argon2-wasm-edge/wasm/argon2.wasm";
import blake2bWASM from "argon2-wasm-edge/wasm/blake2b.wasm";
import { argon2id as nobleArgon2id } from "@noble/hashes/argon2.js";
import { pbkdf2 as noblePbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { pbkdf2Sha256 } from "../../src/auth/pbkdf2";
import { argon2 } from "../../src/auth/argon2";

async function ms(label: string, runs: number, fn: () => unknown, out: Record<string, number>) {
  await fn();
  const start = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  out[label] = Math.round(((performance.now() - start) / runs) * 10) / 10;
}

it("prints the cost of each password-hashing candidate", { timeout: 600_000 }, async () => {
  setWASMModules({ argon2WASM, blake2bWASM });
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const pw = "correct horse battery staple";
  const out: Record<string, number> = {};
  const owasp = { parallelism: 1, iterations: 2, memorySize: 19456, hashLength: 32 };
  await ms(
    "argon2id m=19MiB t=2 p=1, argon2-wasm-edge (static .wasm)",
    10,
    () => wasmArgon2id({ ...owasp, password: pw, salt, outputType: "binary" }),
    out,
  );
  const pwBytes0 = new TextEncoder().encode(pw);
  await ms(
    "argon2id m=19MiB t=2 p=1, src/auth/argon2.ts (argon2.wasm, one instance per isolate)",
    10,
    () => argon2("argon2id", pwBytes0, salt, { memoryKiB: 19456, timeCost: 2, parallelism: 1 }, 32),
    out,
  );
  await ms("argon2id m=19MiB t=2 p=1, @noble/hashes (pure JS)", 2, () => nobleArgon2id(pw, salt, { t: 2, m: 19456, p: 1 }), out);
  await ms(
    "pbkdf2_sha256 100k, WebCrypto (one call)",
    5,
    async () => {
      const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(pw), "PBKDF2", false, ["deriveBits"]);
      await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 100_000 }, key, 256);
    },
    out,
  );
  // @noble/hashes' pbkdf2 measured 10 169 ms for 600k here (2.7 µs/iteration in Node): 100k is enough to show it.
  await ms("pbkdf2_sha256 100k, @noble/hashes (pure JS)", 1, () => noblePbkdf2(sha256, pw, salt, { c: 100_000, dkLen: 32 }), out);
  const pwBytes = new TextEncoder().encode(pw);
  await ms("pbkdf2_sha256 600k, src/auth/pbkdf2.ts (pure JS, precomputed HMAC pads)", 3, () => pbkdf2Sha256(pwBytes, salt, 600_000), out);
  await ms("pbkdf2_sha256 1M, src/auth/pbkdf2.ts", 2, () => pbkdf2Sha256(pwBytes, salt, 1_000_000), out);
  // hash-wasm (embeds its wasm as base64 and compiles it at run time) was tried too: in workerd it throws
  // "CompileError: WebAssembly.compile(): Wasm code generation disallowed by embedder".
  console.log(
    `\nms per hash, inside workerd:\n${Object.entries(out)
      .map(([k, v]) => `  ${v.toFixed(1).padStart(8)} ms  ${k}`)
      .join("\n")}`,
  );
});
