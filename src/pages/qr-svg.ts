/**
 * @module Page QR — the code's geometry taken out of qrcode-svg's markup, so the page can draw it with
 * presentation attributes only: qrcode-svg writes `style="…"` attributes, which a nonce CSP refuses.
 */

export interface QrGeometry {
  viewBox: string;
  /** The one joined path of dark modules (qrcode-svg `join: true`). */
  d: string;
  /** Modules per side, quiet zone included. */
  modules: number;
  /** A display size near `targetPx` that is a whole number of pixels per module: every module equally sharp. */
  sizePx: number;
}

const VIEWBOX = /\bviewBox="(0 0 [\d.]+ [\d.]+)"/;
// The path data is only M/V/H/Z commands and numbers; anything else is refused rather than echoed.
const PATH_D = /<path\b[^>]*\sd="([MVHZ\d., -]+)"/;
const FIRST_MODULE = /^M\s*([\d.]+),([\d.]+)\s*V\s*([\d.]+)/;

export const QR_TARGET_PX = 296;

/** The geometry of a qrcode-svg SVG, or null if it does not look like one. */
export function qrGeometry(svg: string, targetPx = QR_TARGET_PX): QrGeometry | null {
  const viewBox = VIEWBOX.exec(svg)?.[1];
  const d = PATH_D.exec(svg)?.[1];
  if (!viewBox || !d) return null;
  const side = Number(viewBox.split(" ")[2]);
  const first = FIRST_MODULE.exec(d);
  const moduleUnits = first ? Number(first[3]) - Number(first[2]) : 0;
  const modules = moduleUnits > 0 ? Math.round(side / moduleUnits) : 0;
  const sizePx = modules > 0 ? modules * Math.max(2, Math.floor(targetPx / modules)) : targetPx;
  return { viewBox, d, modules, sizePx };
}
