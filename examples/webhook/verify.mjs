// Verifies a syncup webhook request: the signature header is `t=<unix seconds>,v1=<hex>`, where
// the hex is the HMAC-SHA256, keyed with the sink's secret, of `<t>.<the raw request body>`.
// Refuses a request older (or newer) than the replay window, 300 seconds by default.
import { createHmac, timingSafeEqual } from "node:crypto";

export function verifySyncupSignature(secret, header, rawBody, toleranceSeconds = 300, now = Date.now()) {
  const parts = Object.fromEntries(
    String(header ?? "")
      .split(",")
      .map((part) => part.trim().split("=", 2)),
  );
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || typeof parts.v1 !== "string") return false;
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
