/** @module Device — who is asking: user agent, IP and place, from the request Cloudflare hands us. */

/** What is recorded about the device that signs in (all optional: requests may lack them). */
export interface DeviceInfo {
  userAgent: string | null;
  ip: string | null;
  country: string | null;
  city: string | null;
}

/** Where Cloudflare places a client: city-level at best, from its IP address. */
export interface Place {
  country: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
}

/** Headers read only when QR_DEV_PLACES=on and the request did not come through Cloudflare's edge (tests, e2e). */
export const DEV_PLACE_HEADER = "x-dev-place";

function clip(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined || value === "") return null;
  // Strip control characters so a crafted header cannot forge log lines or page text.
  return value.replace(/[\u0000-\u001f\u007f]/g, "").slice(0, max) || null;
}

function coordinate(value: unknown, limit: number): number | null {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(n) && Math.abs(n) <= limit ? n : null;
}

/**
 * Whether `ip` is an address Cloudflare's edge could have located. Loopback, private, link-local and
 * unique-local addresses never reach the edge: `wrangler dev` sees 127.0.0.1 and fills request.cf with a
 * made-up place (Austin, US), which must not be shown to anyone as the requester's place.
 */
export function isPublicAddress(ip: string | null): boolean {
  if (!ip) return false;
  const text = ip.toLowerCase();
  const v4 = text.replace(/^::ffff:/, "").match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return !(
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (!text.includes(":")) return false;
  return !(text === "::1" || text === "::" || /^f[cd]/.test(text) || /^fe[89ab]/.test(text));
}

/** `lat,lon,CC,City` from the dev header (QR_DEV_PLACES=on only). */
function devPlace(header: string | null): Place | null {
  if (!header) return null;
  const [lat, lon, country, ...city] = header.split(",");
  const latitude = coordinate(lat, 90);
  const longitude = coordinate(lon, 180);
  if (latitude === null || longitude === null) return null;
  return { latitude, longitude, country: clip(country?.trim().toUpperCase(), 2), city: clip(city.join(",").trim(), 128) };
}

/**
 * The client's place, or null when it is unknown: request.cf is trusted only for a public client address.
 * `devPlaces` (QR_DEV_PLACES=on) lets a request that did not come through the edge name its place in a header,
 * so tests can put a phone far away; a request from a public address can never do that.
 */
export function placeFromRequest(request: Request, options: { devPlaces?: boolean } = {}): Place | null {
  const ip = request.headers.get("cf-connecting-ip");
  if (!isPublicAddress(ip)) return options.devPlaces ? devPlace(request.headers.get(DEV_PLACE_HEADER)) : null;
  const cf = (request as Request & { cf?: { country?: unknown; city?: unknown; latitude?: unknown; longitude?: unknown } }).cf;
  if (!cf) return null;
  const place: Place = {
    country: typeof cf.country === "string" ? clip(cf.country, 2) : null,
    city: typeof cf.city === "string" ? clip(cf.city, 128) : null,
    latitude: coordinate(cf.latitude, 90),
    longitude: coordinate(cf.longitude, 180),
  };
  return place.country || place.city || place.latitude !== null ? place : null;
}

export function deviceFromRequest(request: Request, options: { devPlaces?: boolean } = {}): DeviceInfo {
  const place = placeFromRequest(request, options);
  return {
    userAgent: clip(request.headers.get("user-agent"), 512),
    // Only Cloudflare's own header is trusted; X-Forwarded-For is client-controlled.
    ip: clip(request.headers.get("cf-connecting-ip"), 64),
    country: place?.country ?? null,
    city: place?.city ?? null,
  };
}
