/**
 * The embeddable module the worker serves at /client/qr-login.js: the headless `startQrLogin` and the
 * `<qr-login>` element, registered on import. Bundled (dependency-free ES module) by scripts/build-client.mjs.
 */
import { defineQrLogin } from "./qr-login-element";

export { startQrLogin, type QrConnection, type QrLoginHandle, type QrLoginOptions, type QrLoginState } from "./qr-login";
export { QrLoginElement, defineQrLogin } from "./qr-login-element";

defineQrLogin();
