/**
 * The signature of a webhook request: header `syncup-signature: t=<unix seconds>,v1=<hex>`,
 * the hex being the HMAC-SHA256, keyed with the sink's secret, of `<t>.<body>`. A receiver
 * recomputes it over the raw body and refuses a timestamp outside its replay window (the
 * README's snippet, `examples/webhook/verify.mjs`, does both).
 */
import { createHmac } from "node:crypto";

export const SIGNATURE_HEADER = "syncup-signature";

/** The header's value for `body` sent at `nowMs`. */
export function signBody(secret: string, body: string, nowMs: number = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
  return `t=${t},v1=${v1}`;
}
