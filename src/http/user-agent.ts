/** @module User Agent — a small, pure parser that names the browser and system behind a User-Agent header. */

type DeviceType = "desktop" | "mobile" | "tablet" | "bot" | "unknown";

export interface ParsedUserAgent {
  /** e.g. "Chrome", "Safari", "Firefox"; null when unrecognised. */
  browser: string | null;
  /** Major version only ("124"): full versions are frozen or fake in modern browsers. */
  browserVersion: string | null;
  /** e.g. "Windows", "macOS", "iOS", "Android"; null when unrecognised. */
  os: string | null;
  osVersion: string | null;
  deviceType: DeviceType;
  /** What a person reads: "Chrome 124 on Windows", "Safari 17 on iOS 17.4", "Unknown browser". */
  label: string;
}

// Order matters: Edge, Opera and Samsung Internet also say "Chrome", Chrome also says "Safari".
const BROWSERS: ReadonlyArray<readonly [name: string, pattern: RegExp]> = [
  ["Edge", /\bEdg(?:e|A|iOS)?\/(\d+)/],
  ["Opera", /\b(?:OPR|Opera)\/(\d+)/],
  ["Samsung Internet", /\bSamsungBrowser\/(\d+)/],
  ["Yandex Browser", /\bYaBrowser\/(\d+)/],
  ["Vivaldi", /\bVivaldi\/(\d+)/],
  ["Firefox", /\b(?:Firefox|FxiOS)\/(\d+)/],
  ["Chrome", /\b(?:Chrome|CriOS)\/(\d+)/],
  ["Safari", /\bVersion\/(\d+)(?:[.\d]*)? (?:Mobile\/\S+ )?Safari\//],
  ["curl", /^curl\/(\d+)/],
  ["Wget", /^Wget\/(\d+)/],
  ["Python", /\bpython-(?:requests|httpx|urllib\d?)\/(\d+)/i],
  ["Node.js", /\b(?:node-fetch|undici|axios)\/(\d+)/i],
  ["Postman", /\bPostmanRuntime\/(\d+)/],
];

const WINDOWS_NT: Record<string, string> = { "10.0": "10/11", "6.3": "8.1", "6.2": "8", "6.1": "7", "6.0": "Vista", "5.1": "XP" };

function dotted(version: string | undefined): string | null {
  return version ? version.replace(/_/g, ".") : null;
}

function parseOs(ua: string): { os: string | null; osVersion: string | null } {
  let m: RegExpMatchArray | null;
  if ((m = ua.match(/\bWindows NT (\d+\.\d+)/))) return { os: "Windows", osVersion: WINDOWS_NT[m[1]!] ?? null };
  if (/\bWindows\b/.test(ua)) return { os: "Windows", osVersion: null };
  if ((m = ua.match(/\biPad\b.*?\bOS (\d+(?:_\d+)?)/))) return { os: "iPadOS", osVersion: dotted(m[1]) };
  if ((m = ua.match(/\b(?:iPhone|iPod)\b.*?\bOS (\d+(?:_\d+)?)/))) return { os: "iOS", osVersion: dotted(m[1]) };
  if ((m = ua.match(/\bAndroid (\d+(?:\.\d+)?)/))) return { os: "Android", osVersion: m[1]! };
  if (/\bAndroid\b/.test(ua)) return { os: "Android", osVersion: null };
  // CrOS carries a platform build number (14541.0.0), not the ChromeOS version people know.
  if (/\bCrOS\b/.test(ua)) return { os: "ChromeOS", osVersion: null };
  // Safari and Chrome on macOS have reported 10_15_7 since 2020 whatever the real version: drop it.
  if (/\bMac OS X\b|\bMacintosh\b/.test(ua)) return { os: "macOS", osVersion: null };
  if (/\bUbuntu\b/.test(ua)) return { os: "Ubuntu", osVersion: null };
  if (/\bFedora\b/.test(ua)) return { os: "Fedora", osVersion: null };
  if (/\bLinux\b|\bX11\b/.test(ua)) return { os: "Linux", osVersion: null };
  return { os: null, osVersion: null };
}

function deviceType(ua: string, os: string | null): DeviceType {
  if (/bot\b|crawler|spider|headless/i.test(ua)) return "bot";
  if (os === "iPadOS" || /\bTablet\b/.test(ua) || (os === "Android" && !/\bMobile\b/.test(ua))) return "tablet";
  if (os === "iOS" || os === "Android" || /\bMobi/.test(ua)) return "mobile";
  if (os !== null) return "desktop";
  return "unknown";
}

/** Names the browser and system of a User-Agent header; never throws, unknown parts are null. */
export function parseUserAgent(userAgent: string | null | undefined): ParsedUserAgent {
  const ua = (userAgent ?? "").slice(0, 512);
  let browser: string | null = null;
  let browserVersion: string | null = null;
  for (const [name, pattern] of BROWSERS) {
    const m = ua.match(pattern);
    if (m) {
      browser = name;
      browserVersion = m[1] ?? null;
      break;
    }
  }
  const { os, osVersion } = parseOs(ua);
  const type = deviceType(ua, os);
  const browserText = browser ? [browser, browserVersion].filter(Boolean).join(" ") : "Unknown browser";
  const osText = os ? [os, osVersion].filter(Boolean).join(" ") : null;
  return { browser, browserVersion, os, osVersion, deviceType: type, label: osText ? `${browserText} on ${osText}` : browserText };
}
