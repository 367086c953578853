/** @module Device — who is asking: user agent, IP and place, from the request Cloudflare hands us. */
import type { DeviceInfo } from "../auth/sessions";

function clip(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined || value === "") return null;
  // Strip control characters so a crafted header cannot forge log lines or page text.
  return value.replace(/[\u0000-\u001f\u007f]/g, "").slice(0, max) || null;
}

export function deviceFromRequest(request: Request): DeviceInfo {
  const cf = (request as Request & { cf?: { country?: string; city?: string } }).cf;
  return {
    userAgent: clip(request.headers.get("user-agent"), 512),
    // Only Cloudflare's own header is trusted; X-Forwarded-For is client-controlled.
    ip: clip(request.headers.get("cf-connecting-ip"), 64),
    country: clip(cf?.country, 2),
    city: clip(cf?.city, 128),
  };
}
