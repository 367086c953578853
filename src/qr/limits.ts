/** @module QR Limits — the one place rate limits for QR login plug in. */
import type { Context } from "hono";
import { throttleByIp, throttleByUser } from "../http/ratelimit";
import type { AppEnv } from "../http/types";

export type QrLimitedAction = "create" | "lookup" | "view" | "scan" | "approve" | "deny";

/**
 * Called by every QR route before the Durable Object is: throws ApiError("throttled") to refuse.
 * Creation is limited per IP (each code costs an object); so are the anonymous routes that take an id
 * (the image, the socket, the phone page), which reach an object only for ids the worker issued;
 * approval is limited per phone user (`userId`, the bearer route's caller).
 */
export async function enforceQrRateLimit(c: Context<AppEnv>, action: QrLimitedAction, userId?: number): Promise<void> {
  if (action === "create") await throttleByIp(c, "qr_create_ip");
  else if (action === "lookup") await throttleByIp(c, "qr_lookup_ip");
  else if (action === "approve" && userId !== undefined) await throttleByUser(c, "qr_approve_user", userId);
}
