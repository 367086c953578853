/** wrangler and the test pool turn a `.wasm` import into a compiled module (Workers refuse compiling bytes at run time). */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
