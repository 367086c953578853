/** @module QR Limits — the one place rate limits for QR login plug in. */
import type { Context } from "hono";
import { throttleByIp, throttleByUser } from "../http/ratelimit";
import type { AppEnv } from "../http/types";

export type QrLimitedAction = "create" | "connect" | "view" | "scan" | "approve" | "deny";

/**
 * Called by every QR route before the Durable Object is: throws ApiError("throttled") to refuse.
 * Creation is limited per IP (each code costs an object), approval per phone user; guessing a
 * session's secret is bounded inside that session's object, where the count is exact.
 */
export async function enforceQrRateLimit(c: Context<AppEnv>, action: QrLimitedAction, _qrId?: string): Promise<void> {
  if (action === "create") await throttleByIp(c, "qr_create_ip");
  else if (action === "approve") await throttleByUser(c, "qr_approve_user");
}
