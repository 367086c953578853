/** @module Jose Members — the parts of jose we use, in one module, so the lazy import (src/lib/jose.ts) keeps only them. */
export { SignJWT, errors, importJWK, jwtVerify } from "jose";
