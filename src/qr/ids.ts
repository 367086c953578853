/** @module QR Ids — the session id (public, in the QR code) and the browser's secret (never in a URL we publish). */
import { randomToken } from "../auth/bytes";

/** 16 random bytes as base64url: 128 bits in 22 characters, short enough for a small, easily scanned code. */
export const QR_ID_BYTES = 16;
/** 32 random bytes as base64url (43 characters); only its SHA-256 is stored. */
export const QR_SECRET_BYTES = 32;

const QR_ID = /^[A-Za-z0-9_-]{22}$/;
const QR_SECRET = /^[A-Za-z0-9_-]{43}$/;

export function newQrId(): string {
  return randomToken(QR_ID_BYTES);
}

export function newQrSecret(): string {
  return randomToken(QR_SECRET_BYTES);
}

/** A syntactic check only, so malformed ids are refused before any Durable Object is billed. */
export function isQrId(value: string | undefined | null): value is string {
  return typeof value === "string" && QR_ID.test(value);
}

export function isQrSecret(value: string | undefined | null): value is string {
  return typeof value === "string" && QR_SECRET.test(value);
}

/** Headers on the worker → object upgrade request; the worker always sets them, overwriting any a client sent. */
export const SECRET_HEADER = "x-qr-secret";
export const NOW_HEADER = "x-qr-now";
