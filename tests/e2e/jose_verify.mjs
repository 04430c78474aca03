// Verifies access tokens as another service would: Node's `jose`, the service's
// published JWKS fetched over HTTP, and nothing of tether-auth's code.
// Input (environment): JWKS_URL, TOKENS (one per line), ISSUER (optional).
// Output: one JSON array, per token {ok, alg, kid, payload} or {ok: false, code}.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const jwks = createRemoteJWKSet(new URL(process.env.JWKS_URL));
const tokens = (process.env.TOKENS || '').split('\n').filter(Boolean);
const results = [];
for (const token of tokens) {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      algorithms: ['EdDSA', 'ES256'],
      issuer: process.env.ISSUER || undefined,
    });
    results.push({ ok: true, alg: protectedHeader.alg, kid: protectedHeader.kid, payload });
  } catch (e) {
    results.push({ ok: false, code: e.code || String(e) });
  }
}
process.stdout.write(JSON.stringify(results));
