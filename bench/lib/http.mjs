// Small JSON client for seeding and for the QR scenario (Node's fetch, 127.0.0.1 only).

export async function call(base, method, path, { token, json, timeoutMs = 30_000 } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (json !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(new URL(path, base), {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // undici hides the reason (reset, refused, timeout) in `cause`.
    const cause = error.cause ? `${error.cause.code ?? ""} ${error.cause.message ?? error.cause}`.trim() : "";
    throw new Error(`${method} ${path}: ${error.message}${cause ? ` (${cause})` : ""}`, { cause: error });
  }
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (an SVG, an empty 204): keep the text.
  }
  return { status: res.status, body };
}

/** Throws with the status and body unless the call answered `expected`. */
export async function expectStatus(expected, base, method, path, options) {
  const res = await call(base, method, path, options);
  if (res.status !== expected) {
    throw new Error(`${method} ${path} answered ${res.status}, expected ${expected}: ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  return res.body;
}

/** Runs `task(item, index)` over `items` with at most `limit` in flight; results in input order. */
export async function pool(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  });
  await Promise.all(workers);
  return results;
}

/** p-th percentile (0..100) of numbers, nearest-rank. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
