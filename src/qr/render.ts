/** @module QR Render — the code as an inline, scalable SVG (qrcode-svg, loaded on the first render). */

/**
 * The SVG for `content`. Error correction M (15 %) keeps a URL of up to 58 bytes (qrcode-svg's measure) — an
 * origin of up to 26 characters plus `/qr/` and the 28-character id — at version 4 (33×33 modules), easily
 * scanned from a screen; longer origins take version 5 (37×37). `join` draws one path instead of a rect per module.
 */
export async function renderQrSvg(content: string): Promise<string> {
  // Imported here, not at the top: its tables are built on the first QR image, not in every isolate's start.
  const { default: QRCode } = await import("qrcode-svg");
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
