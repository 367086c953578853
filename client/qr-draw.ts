/**
 * @module QR Draw — redraws the server's QR image (src/qr/render.ts: qrcode-svg, one joined path) as an inline
 * SVG element at a whole number of pixels per module, so every module is crisp at any device pixel ratio.
 * Parsed, never inserted as markup: nothing from the network becomes HTML.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** The element for `svgText` at about `targetPx` pixels, or null when the image is not one we drew. */
export function qrSvgElement(svgText: string, targetPx: number): SVGSVGElement | null {
  const viewBox = /\bviewBox="(0 0 [\d.]+ [\d.]+)"/.exec(svgText);
  const d = /<path\b[^>]*\sd="([MVHZ\d., -]+)"/.exec(svgText);
  if (!viewBox || !d) return null;
  const side = Number(viewBox[1]!.split(" ")[2]);
  // The first module's height (its first "M x,y V y2") gives the module size, so the module count.
  const first = /^M\s*([\d.]+),([\d.]+)\s*V\s*([\d.]+)/.exec(d[1]!);
  const modules = first ? Math.round(side / (Number(first[3]) - Number(first[2]))) : 0;
  const size = modules > 0 ? modules * Math.max(2, Math.floor(targetPx / modules)) : targetPx;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", viewBox[1]!);
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const bg = document.createElementNS(SVG_NS, "rect");
  bg.setAttribute("width", "100%");
  bg.setAttribute("height", "100%");
  bg.setAttribute("fill", "#fff");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", d[1]!);
  path.setAttribute("fill", "#000");
  path.setAttribute("shape-rendering", "crispEdges");
  svg.appendChild(bg);
  svg.appendChild(path);
  return svg;
}
