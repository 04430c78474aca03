// The SPA side of a tether-auth login, exactly as docs/API.md describes it.
// 1. Generate a state and a client verifier (32 random bytes each, base64url) and keep
//    both in sessionStorage; the client challenge is the verifier's SHA-256, base64url.
// 2. GET /api/auth/workos/authorize?redirect_uri=...&state=...&client_challenge=... with
//    Accept: application/json, then go to the returned url (WorkOS).
// 3. Back from WorkOS with ?code&state: compare the state with the kept one BEFORE
//    posting anything; a mismatch means this browser did not start this login.
// 4. POST code, state, redirect_uri and client_verifier to /api/auth/workos/callback:
//    the verifier never left this browser, so a leaked redirect URL is worthless.
// 5. Use the token: GET /api/auth/verify-token with Authorization: Bearer.
// Then, while signed in (the session section below):
// 6. Renew before expiry: POST /api/auth/refresh {refreshToken} a margin before the
//    access token's exp; the answer replaces token, refreshToken and sessionConfig.
// 7. Log out: POST /api/auth/logout {refreshToken}, then forget the session.
// 8. Sign out after inactivity, with a warning first, as sessionConfig prescribes.
'use strict';

const STATE_KEY = 'tether.login.state';
const VERIFIER_KEY = 'tether.login.verifier';
const API_KEY = 'tether.api';
// This page is its own redirect URI: register it in ALLOWED_REDIRECT_URIS.
const REDIRECT_URI = window.location.origin + window.location.pathname;

const $ = (id) => document.getElementById(id);

function base64url(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomToken() {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return base64url(bytes); // 43 characters of A-Z a-z 0-9 - _
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function apiBase() {
  return $('api').value.trim().replace(/\/+$/, '');
}

function show(result, message) {
  document.body.dataset.result = result;
  $('status').textContent = message;
}

async function errorText(res) {
  try {
    const body = await res.json();
    return `${res.status} ${body.code}: ${body.error} (request ${body.requestId})`;
  } catch {
    return `${res.status}`;
  }
}

async function startSignIn(event) {
  event.preventDefault();
  const api = apiBase();
  const state = randomToken();
  const verifier = randomToken();
  sessionStorage.setItem(API_KEY, api);
  sessionStorage.setItem(STATE_KEY, state);
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  const query = new URLSearchParams({
    redirect_uri: REDIRECT_URI,
    state,
    client_challenge: await challengeOf(verifier),
  });
  const hint = $('login-hint').value.trim();
  if (hint) query.set('login_hint', hint);
  // A domain signs in through its organization's SSO connection; without one, AuthKit.
  const domain = $('domain-hint').value.trim();
  if (domain) query.set('domain_hint', domain);
  show('starting', 'Starting the login…');
  try {
    const res = await fetch(`${api}/api/auth/workos/authorize?${query}`, {
      headers: { Accept: 'application/json' },
    });
    if (!res.ok) return show('error', `authorize failed: ${await errorText(res)}`);
    const { url } = await res.json();
    window.location.assign(url);
  } catch (e) {
    show('error', `authorize failed: ${e}`);
  }
}

async function completeSignIn(params) {
  const api = sessionStorage.getItem(API_KEY) || apiBase();
  $('api').value = api;
  const kept = sessionStorage.getItem(STATE_KEY);
  const verifier = sessionStorage.getItem(VERIFIER_KEY);
  // A state and its verifier serve one login only.
  sessionStorage.removeItem(STATE_KEY);
  sessionStorage.removeItem(VERIFIER_KEY);
  // Take the code out of the address bar and the history.
  window.history.replaceState(null, '', window.location.pathname);
  if (!kept || params.get('state') !== kept) {
    return show('error', 'The state on the redirect is not the one this browser kept: the code was not posted.');
  }
  if (params.get('error')) {
    return show('error', `The identity provider refused: ${params.get('error')} ${params.get('error_description') || ''}`);
  }
  show('completing', 'Completing the login…');
  try {
    const res = await fetch(`${api}/api/auth/workos/callback`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        code: params.get('code'),
        state: kept,
        redirect_uri: REDIRECT_URI,
        client_verifier: verifier,
      }),
    });
    // Readable from another origin because the service exposes it (CORS).
    $('request-id').textContent = res.headers.get('x-request-id') || '(not exposed)';
    if (!res.ok) return show('error', `callback failed: ${await errorText(res)}`);
    const session = await res.json();
    refreshCount = 0;
    lastActivity = Date.now();
    begin(session);
    const verify = await fetch(`${api}/api/auth/verify-token`, {
      headers: { Authorization: `Bearer ${session.token}` },
    });
    $('verify').textContent = verify.ok ? (await verify.json()).message : await errorText(verify);
    show(verify.ok ? 'signed-in' : 'error', verify.ok ? `Signed in as ${session.user.email}.` : 'The token was refused.');
  } catch (e) {
    show('error', `callback failed: ${e}`);
  }
}

// ---- The session ----------------------------------------------------------------
// The whole auth session, refresh token included, lives in memory only
// (window.tetherSession): nothing a script injected later could read from storage, and a
// reload or a new tab signs in again (WorkOS usually remembers the user).

// The deployment's config.js may scale the idle policy's minutes, for tests and demos
// only: window.TETHER_IDLE_SCALE = 0.05 makes each minute 3 seconds.
const IDLE_SCALE = Number(window.TETHER_IDLE_SCALE) > 0 ? Number(window.TETHER_IDLE_SCALE) : 1;
const MINUTE_MS = 60_000 * IDLE_SCALE;
const RETRY_MS = 5_000; // after a network error or an answer without Retry-After

let renewTimer = null;
let idleTimer = null;
let refreshing = null; // the refresh in flight: a click during a scheduled one joins it
let refreshCount = 0;
let lastActivity = 0;

// Runs fn at the local time `time` (ms). setTimeout fires at once past 2^31-1 ms (24.8
// days) and an access token may live 30 days, so long waits go in steps of a day.
function at(time, fn) {
  const timer = {};
  const arm = () => {
    const left = time - Date.now();
    timer.id = setTimeout(left > 86_400_000 ? arm : fn, Math.min(Math.max(left, 0), 86_400_000));
  };
  arm();
  return timer;
}

function cancel(timer) {
  if (timer) clearTimeout(timer.id);
}

// The JWT's claims, unverified: the page only reads iat and exp to plan the renewal.
function claimsOf(token) {
  const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function stamp(time) {
  return new Date(time).toISOString();
}

// Takes an auth session (from the callback or a refresh) and plans what comes next.
function begin(session) {
  window.tetherSession = session;
  $('user').textContent = JSON.stringify(session.user, null, 2);
  $('refreshes').textContent = String(refreshCount);
  $('refresh').disabled = false;
  $('logout').disabled = false;
  const { iat, exp } = claimsOf(session.token);
  $('expires').textContent = stamp(exp * 1000);
  // The token's lifetime counted on this browser's clock from now, so a clock that is
  // off does not make the page renew too late (or all the time).
  const lifetime = (exp - iat) * 1000;
  const expiresAt = Date.now() + lifetime;
  cancel(renewTimer);
  // This page signs in through WorkOS, so the SSO pair of the policy applies (a password
  // login would read passwordSilentRenewalEnabled and passwordFallbackBehavior).
  const config = session.sessionConfig;
  if (config.ssoSilentRenewalEnabled) {
    const renewAt = expiresAt - Math.min(60_000, lifetime / 10);
    $('next-refresh').textContent = stamp(renewAt);
    renewTimer = at(renewAt, refresh);
  } else {
    $('next-refresh').textContent = `none: ${config.ssoFallbackBehavior} at expiry`;
    renewTimer = at(expiresAt, () => expired(config.ssoFallbackBehavior));
  }
  watchIdle(config);
}

// Silent renewal is off: the policy's fallback decides how the user signs in again.
async function expired(fallback) {
  await logout('Signed out: the session expired and is not renewed silently.' +
    (fallback === 'reauth-button' ? ' Sign in again to continue.' : ''));
  if (fallback === 'redirect') $('sign-in-form').requestSubmit();
}

function refresh() {
  if (!refreshing) refreshing = renew().finally(() => { refreshing = null; });
  return refreshing;
}

async function renew() {
  const session = window.tetherSession;
  if (!session) return;
  cancel(renewTimer);
  let res;
  let renewed;
  try {
    res = await fetch(`${apiBase()}/api/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refreshToken: session.refreshToken }),
    });
    if (res.ok) renewed = await res.json();
  } catch (e) {
    return retryRenewal(RETRY_MS, `the service could not be reached (${e})`);
  }
  // Logged out meanwhile: the logout ended the whole session, this renewal included.
  if (window.tetherSession !== session) return;
  if (renewed) {
    refreshCount += 1;
    begin(renewed);
    return show('signed-in', `Signed in as ${renewed.user.email}; renewed ${refreshCount}×.`);
  }
  if (res.status === 429 || res.status >= 500) {
    const seconds = Number(res.headers.get('retry-after')); // exposed to this origin (CORS)
    return retryRenewal(seconds > 0 ? seconds * 1000 : RETRY_MS, await errorText(res));
  }
  // 401 REFRESH_TOKEN_INVALID/_REVOKED/_EXPIRED/_REUSED or SESSION_EXPIRED, 403
  // LOGIN_DISABLED: this session cannot go on, and retrying will not change that.
  end('signed-out', `Signed out: the session could not be renewed (${await errorText(res)}).`);
}

function retryRenewal(ms, why) {
  renewTimer = at(Date.now() + ms, refresh);
  $('next-refresh').textContent = stamp(Date.now() + ms);
  show('signed-in', `Renewal postponed ${Math.round(ms / 1000)} s: ${why}.`);
}

// Forgets the session here: timers stopped, tokens dropped.
function end(result, message) {
  cancel(renewTimer);
  cancel(idleTimer);
  window.tetherSession = null;
  for (const id of ['expires', 'next-refresh', 'idle']) $(id).textContent = '–';
  $('user').textContent = '';
  $('refresh').disabled = true;
  $('logout').disabled = true;
  $('idle-warning').hidden = true;
  show(result, message);
}

// Ends the session at the service too: every token of it stops working.
async function logout(message) {
  const session = window.tetherSession;
  if (!session) return;
  end('signing-out', 'Signing out…');
  let note = '';
  try {
    const res = await fetch(`${apiBase()}/api/auth/logout`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refreshToken: session.refreshToken }),
    });
    if (!res.ok) note = ` The service did not confirm it: ${await errorText(res)}.`;
  } catch (e) {
    note = ` The service could not be reached: ${e}.`;
  }
  show('signed-out', message + note);
}

// ---- Inactivity -----------------------------------------------------------------
// With `enabled` and `idleTrackingEnabled`: idleTimeoutMinutes without a pointer, key,
// wheel, scroll or touch event (or a return to the tab) signs out; warningTimeMinutes
// before that, a warning offers to stay. Timers check the time elapsed since the last
// activity, so a late timer (a sleeping laptop, a throttled tab) still acts correctly.
let idlePolicy = null; // { timeout, warning } in ms, or null when not tracked

function watchIdle(config) {
  idlePolicy = config.enabled && config.idleTrackingEnabled
    ? { timeout: config.idleTimeoutMinutes * MINUTE_MS, warning: config.warningTimeMinutes * MINUTE_MS }
    : null;
  $('idle').textContent = idlePolicy
    ? `after ${config.idleTimeoutMinutes} min idle, warned ${config.warningTimeMinutes} min before`
    : 'off';
  checkIdle();
}

function checkIdle() {
  cancel(idleTimer);
  if (!idlePolicy || !window.tetherSession) return;
  const { timeout, warning } = idlePolicy;
  const signOutAt = lastActivity + timeout;
  if (Date.now() >= signOutAt) {
    return logout('Signed out after a period of inactivity.');
  }
  const warnAt = signOutAt - warning;
  if (Date.now() >= warnAt) {
    $('idle-message').textContent = `No activity for a while: you will be signed out at ${new Date(signOutAt).toLocaleTimeString()}.`;
    $('idle-warning').hidden = false;
    idleTimer = at(signOutAt, checkIdle);
  } else {
    $('idle-warning').hidden = true;
    idleTimer = at(warnAt, checkIdle);
  }
}

function activity() {
  if (!idlePolicy || !window.tetherSession) return;
  lastActivity = Date.now();
  // Cheap on every event: the timer re-reads lastActivity when it fires; only a shown
  // warning needs hiding (and the timer re-planning) now.
  if (!$('idle-warning').hidden) checkIdle();
}

const params = new URLSearchParams(window.location.search);
// The API's address comes from the deployment (config.js beside this page), never from
// the page's own URL: a link carrying another address would send the code and the
// token to whoever it names.
$('api').value = sessionStorage.getItem(API_KEY) || window.TETHER_API || 'http://localhost:3000';
$('sign-in-form').addEventListener('submit', startSignIn);
$('refresh').addEventListener('click', () => refresh());
$('logout').addEventListener('click', () => logout('Signed out.'));
$('stay').addEventListener('click', activity);
for (const type of ['pointerdown', 'pointermove', 'keydown', 'wheel', 'scroll', 'touchstart']) {
  window.addEventListener(type, activity, { capture: true, passive: true });
}
// Back on the tab: a deadline that passed while it was hidden signs out first.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  checkIdle();
  activity();
});
if (params.has('code') || params.has('error')) completeSignIn(params);
