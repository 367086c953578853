/** @module HTTP Errors — the closed set of error codes and the one helper that builds every DRF-shaped error body. */

/** Every error the API can answer with: code -> [status, default detail]. Clients switch on `code`. */
export const ERRORS = {
  parse_error: [400, "Malformed request."],
  invalid: [400, "Invalid input."],
  not_authenticated: [401, "Authentication credentials were not provided."],
  authentication_failed: [401, "Incorrect authentication credentials."],
  bad_authorization_header: [401, "Authorization header must contain two space-delimited values"],
  token_not_valid: [401, "Token is invalid or expired"],
  no_active_account: [401, "No active account found with the given credentials"],
  user_inactive: [401, "User is inactive"],
  user_not_found: [401, "User not found"],
  permission_denied: [403, "You do not have permission to perform this action."],
  origin_not_allowed: [403, "This origin may not open the login socket."],
  csrf_failed: [403, "A request authenticated by cookie needs the X-Requested-With header and an allowed Origin."],
  stale_token: [403, "Stale token for given user."],
  not_found: [404, "Not found."],
  method_not_allowed: [405, "Method not allowed."],
  qr_too_far: [403, "This phone is too far from the computer asking to sign in."],
  qr_not_scanned: [409, "Scan this login code first."],
  qr_claimed: [409, "This login code was already scanned by another account."],
  qr_not_pending: [409, "This login request is already finished."],
  qr_browser_away: [409, "The computer showing this code is not connected. Try again in a moment."],
  qr_expired: [410, "This login code has expired."],
  request_too_large: [413, "Request body is too large."],
  unsupported_media_type: [415, "Unsupported media type in request."],
  upgrade_required: [426, "This endpoint only accepts a WebSocket upgrade."],
  throttled: [429, "Request was throttled."],
  server_error: [500, "A server error occurred."],
  service_unavailable: [503, "The service is briefly unavailable; try again shortly."],
  server_misconfigured: [500, "The server is misconfigured; the operator has been told why in the logs."],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERRORS;

/** DRF's validation body: `{"field": ["message"], "non_field_errors": [...]}`. */
export type FieldErrors = Record<string, string[]>;

/** An error a route throws on purpose; the app's error handler turns it into a response. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? ERRORS[code][1]);
    this.name = "ApiError";
    this.status = ERRORS[code][0];
  }
}

/** A 400 with DRF's field-keyed body. */
export class ValidationError extends Error {
  readonly status = 400;
  constructor(readonly fields: FieldErrors) {
    super("Validation failed");
    this.name = "ValidationError";
  }
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" } as const;

// RFC 6750 §3: a 401 for a bearer-protected resource names the scheme and realm.
const WWW_AUTHENTICATE = 'Bearer realm="api"';

/** Seconds a client should wait after a 503 (D1 slow or down): a short blip, then the guard's deadline again. */
const SERVICE_UNAVAILABLE_RETRY_AFTER = 5;

/** Builds the response for any ApiError/ValidationError: the only place error bodies are made. */
export function errorResponse(error: ApiError | ValidationError): Response {
  if (error instanceof ValidationError) {
    return new Response(JSON.stringify(error.fields), { status: 400, headers: JSON_HEADERS });
  }
  const headers: Record<string, string> = { ...JSON_HEADERS, ...error.headers };
  if (error.status === 401 && !headers["www-authenticate"]) headers["www-authenticate"] = WWW_AUTHENTICATE;
  // RFC 9110 §15.6.4: a 503 says when to come back.
  if (error.status === 503 && !headers["retry-after"]) headers["retry-after"] = String(SERVICE_UNAVAILABLE_RETRY_AFTER);
  // DRF's 404 body is just the detail; keep it exactly so clients that compare bodies still match.
  const body = error.code === "not_found" ? { detail: error.message } : { detail: error.message, code: error.code, ...error.extra };
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
