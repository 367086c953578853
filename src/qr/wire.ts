/**
 * @module QR Wire — the QR login's HTTP bodies as the browser and the phone read them. The routes are
 * typed against these and client/ imports them, so a change to a body breaks the browser build too.
 * Types only: no runtime code, nothing that needs the Workers runtime.
 */
import type { DeviceType } from "../http/user-agent";
import type { QrState, QrUser } from "./policy";
import type { QrWarning } from "./signals";

/** POST /api/qr/ 201: the code to show and the socket to follow; `secret` is the browser's alone. */
export interface QrCreated {
  id: string;
  secret: string;
  /** What the code encodes: the phone page, never the secret. */
  qr_url: string;
  ws_url: string;
  svg_url: string;
  /** ISO 8601 UTC. */
  expires_at: string;
}

/** GET /api/qr/{id}/ before the caller's scan: state and expiry only. */
export interface QrLimitedBody {
  id: string;
  status: QrState;
  expires_at: string;
}

/** GET /api/qr/{id}/ after the caller's scan, and the phone actions' answers: who is asking, and the choices. */
export interface QrRequestBody {
  id: string;
  status: QrState;
  created_at: string;
  expires_at: string;
  requester: {
    ip: string | null;
    country: string | null;
    city: string | null;
    user_agent: string | null;
    browser: string | null;
    browser_version: string | null;
    os: string | null;
    os_version: string | null;
    device_type: DeviceType;
    /** What a person reads: "Chrome 124 on Windows". */
    description: string;
  };
  phone: { ip: string | null; country: string | null; city: string | null };
  mismatch: { country: boolean | null; network: boolean | null };
  warnings: QrWarning[];
  /** Three codes once scanned; null otherwise. */
  choices: string[] | null;
}

/** What a SealedPair opens to in the browser. */
export interface QrPairContents {
  access: string;
  refresh: string;
  user: QrUser;
}
