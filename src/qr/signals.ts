/**
 * @module QR Signals — the cross-device phishing signal (RFC 10027's proximity signal): is the browser asking to
 * sign in somewhere else than the phone approving it? Pure: compares what Cloudflare tells us about both requests.
 */
import type { Place as Located } from "../http/device";

export interface Place {
  ip: string | null;
  country: string | null;
}

type QrWarning = "different_country" | "different_network" | "far_apart";

export interface Mismatch {
  /** true: the countries differ; false: they match; null: one of them is unknown. */
  country: boolean | null;
  /** Same comparison on the network (IPv4 /24, IPv6 /48); null also when the address families differ. */
  network: boolean | null;
  warnings: QrWarning[];
}

// A home or office shares one IPv4 /24 (usually one address, behind NAT) and one IPv6 site prefix,
// at most a /48 (RFC 6177); mobile carriers do not, so a phone on mobile data will see the warning.
const IPV4_PREFIX_BITS = 24;
const IPV6_PREFIX_BITS = 48;

function ipv4Bytes(ip: string): number[] | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return null;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : null;
}

function ipv6Groups(ip: string): number[] | null {
  let text = ip.toLowerCase().replace(/%.*$/, "");
  // An IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const b = ipv4Bytes(v4[2]!);
    if (!b) return null;
    text = `${v4[1]}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => parseInt(g, 16));
}

/** The network an address belongs to ("v4:203.0.113", "v6:2001:db8:0"), or null if it is not an address. */
export function networkPrefix(ip: string | null): string | null {
  if (!ip) return null;
  const v4 = ipv4Bytes(ip);
  if (v4) return `v4:${v4.slice(0, IPV4_PREFIX_BITS / 8).join(".")}`;
  const v6 = ipv6Groups(ip);
  if (!v6) return null;
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv4 client.
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return `v4:${[v6[6]! >> 8, v6[6]! & 255, v6[7]! >> 8].join(".")}`;
  }
  return `v6:${v6
    .slice(0, IPV6_PREFIX_BITS / 16)
    .map((g) => g.toString(16))
    .join(":")}`;
}

function differs(a: string | null, b: string | null): boolean | null {
  if (a === null || b === null) return null;
  return a !== b;
}

/** Compares the browser's request with the phone's; an unknown side is never reported as a mismatch. */
export function compareRequests(browser: Place, phone: Place): Mismatch {
  const country = differs(browser.country?.toUpperCase() ?? null, phone.country?.toUpperCase() ?? null);
  const browserNet = networkPrefix(browser.ip);
  const phoneNet = networkPrefix(phone.ip);
  // Dual-stack homes often reach us over IPv4 from one device and IPv6 from another: no signal there.
  const network = browserNet && phoneNet && browserNet.slice(0, 3) !== phoneNet.slice(0, 3) ? null : differs(browserNet, phoneNet);
  const warnings: QrWarning[] = [];
  if (country === true) warnings.push("different_country");
  if (network === true) warnings.push("different_network");
  return { country, network, warnings };
}

// Cloudflare places a client by its IP address, at city level; a phone on mobile data often exits through its
// carrier's gateway in another city of the region. Beyond this the two ends are not in one metropolitan area.
export const FAR_APART_KM = 300;
const EARTH_RADIUS_KM = 6371;

/** Great-circle distance (haversine) between two places, rounded to the km; null when either has no coordinates. */
export function distanceKm(a: Located | null, b: Located | null): number | null {
  if (!a || !b || a.latitude === null || a.longitude === null || b.latitude === null || b.longitude === null) return null;
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return Math.round(2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h))));
}

export interface Proximity {
  /** Rounded km; null when a place is unknown (locally, always). */
  km: number | null;
  /** Farther apart than FAR_APART_KM. */
  far: boolean;
  /** QR_MAX_DISTANCE_KM is set and the distance is known to exceed it: approval is refused. */
  overLimit: boolean;
}

/** How far the phone is from the browser, and whether QR_MAX_DISTANCE_KM (`maxKm`, null: off) refuses it. An unknown distance is never refused. */
export function proximity(browser: Located | null, phone: Located | null, maxKm: number | null): Proximity {
  const km = distanceKm(browser, phone);
  return { km, far: km !== null && km > FAR_APART_KM, overLimit: km !== null && maxKm !== null && km > maxKm };
}
