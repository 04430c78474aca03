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
    // A real SPA keeps the tokens in memory (or as its security model prescribes).
    window.tetherSession = session;
    $('user').textContent = JSON.stringify(session.user, null, 2);
    const verify = await fetch(`${api}/api/auth/verify-token`, {
      headers: { Authorization: `Bearer ${session.token}` },
    });
    $('verify').textContent = verify.ok ? (await verify.json()).message : await errorText(verify);
    show(verify.ok ? 'signed-in' : 'error', verify.ok ? `Signed in as ${session.user.email}.` : 'The token was refused.');
  } catch (e) {
    show('error', `callback failed: ${e}`);
  }
}

const params = new URLSearchParams(window.location.search);
// The API's address comes from the deployment (config.js beside this page), never from
// the page's own URL: a link carrying another address would send the code and the
// token to whoever it names.
$('api').value = sessionStorage.getItem(API_KEY) || window.TETHER_API || 'http://localhost:3000';
$('sign-in-form').addEventListener('submit', startSignIn);
if (params.has('code') || params.has('error')) completeSignIn(params);
