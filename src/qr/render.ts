/** @module QR Render — the code as an inline, scalable SVG (qrcode-svg). */
import QRCode from "qrcode-svg";

/**
 * The SVG for `content`. Error correction M (15 %) keeps a URL of up to 58 bytes (qrcode-svg's measure) — an
 * origin of up to 26 characters plus `/qr/` and the 28-character id — at version 4 (33×33 modules), easily
 * scanned from a screen; longer origins take version 5 (37×37). `join` draws one path instead of a rect per module.
 */
export function renderQrSvg(content: string): string {
  return new QRCode({
    content,
    ecl: "M",
    padding: 4,
    width: 256,
    height: 256,
    join: true,
    xmlDeclaration: false,
    container: "svg-viewbox",
  }).svg();
}
