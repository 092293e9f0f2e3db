// A public OpenID Connect relying party built on openid-client (v6, strict checks) with a user in
// headless Chromium (playwright-core): authorization code + PKCE through the hosted login and
// consent pages, tokens, userinfo, refresh rotation, revocation, silent re-authorization,
// prompt=none, RP-initiated logout.
//
// Usage: node oidc_rp.mjs <issuer> <client_id> <redirect_uri> <post_logout_redirect_uri> <email> <password>
//   The app is public (token_endpoint_auth_method none), registered with both URIs, third-party
//   (consent screen), allowed scope "openid email profile offline_access". Nothing needs to
//   listen at the two URIs: navigations to them are intercepted in the browser (CDP Fetch, which
//   also catches the server's redirects to them) and answered with a tiny page. They must have
//   no query component (openid-client derives the token request's redirect_uri from the
//   callback URL) and not use a port Chromium refuses (ERR_UNSAFE_PORT, e.g. 1, 6000).
//
// Prints one JSON object on stdout and exits 0 when the flow ran to its end; the protocol
// outcomes are recorded for the caller to assert on. Fields:
//   ok                       true
//   issuer                   the discovered issuer (openid-client checks it equals <issuer>)
//   landing_path             where the first authorization request landed (/login.html)
//   login_page_shown         the hosted login page was shown (and filled in)
//   consent_shown            the consent page (#consent-allow) was shown and allowed
//   sub                      the ID token's sub
//   id_token_email, id_token_email_verified   from the ID token
//   id_token_claims          the names of the ID token's claims, sorted
//   token_scope              the scope granted by the code exchange
//   has_refresh_token        the code exchange returned a refresh token
//   userinfo_sub, userinfo_email, userinfo_email_verified, userinfo_name
//                            from /userinfo (openid-client checks sub equals the ID token's)
//   refresh_rotated          the refresh answer carried a new, different refresh token
//   refresh_id_token         "absent", or "valid" (same sub) for an ID token in the refresh answer
//   revoke_ok                RFC 7009 revocation of the newest refresh token answered 200
//                            (else revoke_error says what came back)
//   revoked_refresh_error    error code of a refresh with the revoked token (null: it worked)
//   old_refresh_error        error code of a refresh with the spent (rotated) token, after the
//                            revocation (null when it worked, or when nothing rotated)
//   silent_second_login      a second authorization came back with a code without showing the
//                            login or consent page
//   second_sub               sub of that exchange's ID token
//   prompt_none_ok           prompt=none while signed in came back with a code, exchanged for an
//                            ID token of the same sub
//   prompt_none_error        its error code instead (null when none)
//   logout_redirect_ok       the end-session request came back to post_logout_redirect_uri
//   logout_state_ok          ... with the same state
//   after_logout_error       error code of a prompt=none authorization after logout
//                            (login_required expected; iss and state of that answer checked)
//   refresh_after_logout_error  error code of a refresh with the last refresh token after logout
//                            (null: it still worked)
//   console_errors           console errors and uncaught exceptions of the pages
// On an unexpected failure: a message on stderr, {"ok":false,"failed":STEP,"detail":...,
// plus the fields so far} on stdout, exit status 1 (2 for a usage error). Tokens are never
// printed.
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const WAIT = 20000;
const SCOPE = 'openid email profile offline_access';

const args = process.argv.slice(2);
if (args.length !== 6) {
  process.stderr.write('usage: node oidc_rp.mjs <issuer> <client_id> <redirect_uri> <post_logout_redirect_uri> <email> <password>\n');
  process.exit(2);
}
const [issuer, clientId, redirectUri, postLogoutUri, email, password] = args;

const report = { ok: true };
const consoleErrors = [];
let step = 'start';
let browser;
let page;

/** What an error says, for the report (no tokens: openid-client's messages carry none). */
function describe(e) {
  if (!(e instanceof Error)) return String(e);
  const out = { name: e.name, message: e.message.split('\n')[0] };
  for (const k of ['code', 'error', 'error_description', 'status']) if (e[k] !== undefined) out[k] = e[k];
  if (e.cause instanceof Error) out.cause = e.cause.message.split('\n')[0];
  else if (e.cause && typeof e.cause === 'object' && !(e.cause instanceof Response)) {
    try { out.cause = JSON.parse(JSON.stringify(e.cause)); } catch { /* not plain data */ }
  }
  if (page) out.page = page.url().split('?')[0];
  return out;
}

/** The error code of a refresh with `token`, or null when it was accepted. */
async function refreshError(config, token) {
  try {
    await client.refreshTokenGrant(config, token);
    return null;
  } catch (e) {
    if (e instanceof client.ResponseBodyError) return e.error;
    throw e;
  }
}

// ------------------------------------------------------------------ the browser
/** `s` as a CDP Fetch URL pattern matching itself literally. */
const literal = (s) => s.replace(/[\\*?]/g, (c) => `\\${c}`);
/** `url` is `target` itself, or with a query or fragment. */
const isAt = (url, target) => url === target || (url.startsWith(target) && '?#'.includes(url[target.length]));

const hits = []; // intercepted navigations to the redirect URIs, in order
let consumed = 0;
let wake = null;
/** The next intercepted navigation to one of the redirect URIs (waits up to WAIT). */
async function nextHit(what) {
  const deadline = Date.now() + WAIT;
  while (consumed >= hits.length) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`${what}: no redirect to the app within ${WAIT} ms (page at ${page.url().split('?')[0]})`);
    await new Promise((resolve) => { wake = resolve; setTimeout(resolve, Math.min(left, 250)); });
  }
  return new URL(hits[consumed++]);
}

const navigations = []; // main-frame navigation requests (every redirect hop)

async function openBrowser() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ locale: 'en-US' });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.setDefaultNavigationTimeout(WAIT);
  page.on('console', (m) => {
    if (m.type() === 'error' && !(m.location().url || '').endsWith('/favicon.ico')) {
      const where = m.location().url ? ` (${m.location().url})` : '';
      consoleErrors.push(m.text() + where);
    }
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) navigations.push(r.url());
  });
  // Playwright's own routing does not see the hops of a redirect chain, so the server's 302 to
  // the app would escape it; CDP's Fetch domain pauses every hop.
  const cdp = await context.newCDPSession(page);
  const targets = [redirectUri, postLogoutUri].sort((a, b) => b.length - a.length);
  cdp.on('Fetch.requestPaused', async (event) => {
    const { url } = event.request;
    try {
      if (!targets.some((t) => isAt(url, t))) {
        await cdp.send('Fetch.continueRequest', { requestId: event.requestId });
        return;
      }
      hits.push(url);
      await cdp.send('Fetch.fulfillRequest', {
        requestId: event.requestId,
        responseCode: 200,
        responseHeaders: [{ name: 'Content-Type', value: 'text/html; charset=utf-8' }],
        body: Buffer.from('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>App</title>'
          + '<link rel="icon" href="data:,"></head><body><p>Back at the app.</p></body></html>').toString('base64'),
      });
    } catch { /* the page went away */ }
    if (wake) wake();
  });
  await cdp.send('Fetch.enable', {
    patterns: [...new Set(targets)].map((t) => ({ urlPattern: `${literal(t)}*`, requestStage: 'Request' })),
  });
}

/** Goes to `url`; a navigation that the interception ends early is not an error. */
async function visit(url) {
  try {
    await page.goto(url, { waitUntil: 'load' });
  } catch (e) {
    if (consumed >= hits.length) throw e;
  }
}

/** Pathnames of the main-frame navigations since index `from`. */
const pathsSince = (from) => navigations.slice(from).map((u) => new URL(u).pathname);
const isLoginOrConsent = (p) => p.endsWith('/login.html') || p.endsWith('/consent.html');

// ------------------------------------------------------------------ the RP
async function authorization(config, extra = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
    ...extra,
  });
  return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
}

async function run() {
  step = 'discovery';
  const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
    timeout: WAIT / 1000,
  });
  report.issuer = config.serverMetadata().issuer;

  step = 'browser';
  await openBrowser();

  // 1. Sign in on the hosted login page, allow on the consent page.
  step = 'login_page';
  const first = await authorization(config);
  report.login_page_shown = false;
  report.consent_shown = false;
  await visit(first.url.href);
  report.landing_path = new URL(page.url()).pathname;
  await page.waitForURL((u) => u.pathname.endsWith('/login.html'));
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  report.login_page_shown = true;
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();

  step = 'consent';
  const allow = page.locator('#consent-allow');
  const seen = await Promise.race([
    allow.waitFor({ state: 'visible', timeout: WAIT }).then(() => 'consent', () => 'nothing'),
    (async () => {
      const deadline = Date.now() + WAIT;
      while (consumed >= hits.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      return consumed < hits.length ? 'app' : 'nothing';
    })(),
  ]);
  if (seen === 'consent') {
    report.consent_shown = true;
    await allow.click();
  } else if (seen === 'nothing') {
    throw new Error(`after sign-in: neither the consent page nor the app within ${WAIT} ms`);
  }
  const callback = await nextHit('after sign-in and consent');

  step = 'code_exchange';
  const tokens = await client.authorizationCodeGrant(config, callback, first.checks);
  const claims = tokens.claims();
  report.sub = claims.sub;
  report.id_token_email = claims.email;
  report.id_token_email_verified = claims.email_verified;
  report.id_token_claims = Object.keys(claims).sort();
  report.token_scope = tokens.scope;
  report.has_refresh_token = typeof tokens.refresh_token === 'string';

  step = 'userinfo';
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  report.userinfo_sub = info.sub;
  report.userinfo_email = info.email;
  report.userinfo_email_verified = info.email_verified;
  report.userinfo_name = info.name;

  // 2. Refresh (rotation), revocation of the new refresh token, both old ones refused.
  step = 'refresh';
  if (!report.has_refresh_token) throw new Error('no refresh_token with offline_access');
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  report.refresh_rotated = typeof refreshed.refresh_token === 'string' && refreshed.refresh_token !== tokens.refresh_token;
  if (refreshed.id_token) {
    if (refreshed.claims().sub !== claims.sub) throw new Error('the refreshed ID token names another sub');
    report.refresh_id_token = 'valid';
  } else {
    report.refresh_id_token = 'absent';
  }

  step = 'revoke';
  const newest = refreshed.refresh_token || tokens.refresh_token;
  report.revoke_ok = false;
  try {
    await client.tokenRevocation(config, newest, { token_type_hint: 'refresh_token' });
    report.revoke_ok = true;
  } catch (e) {
    report.revoke_error = describe(e);
  }
  step = 'revoked_refresh';
  report.revoked_refresh_error = await refreshError(config, newest);
  step = 'old_refresh';
  report.old_refresh_error = report.refresh_rotated ? await refreshError(config, tokens.refresh_token) : null;

  // 3. Signed in, consent remembered: straight back with a code.
  step = 'second_login';
  report.silent_second_login = false;
  const second = await authorization(config);
  let from = navigations.length;
  await visit(second.url.href);
  const callback2 = await nextHit('second authorization');
  report.silent_second_login = !pathsSince(from).some(isLoginOrConsent);
  const tokens2 = await client.authorizationCodeGrant(config, callback2, second.checks);
  report.second_sub = tokens2.claims().sub;
  let latest = tokens2;

  step = 'prompt_none';
  report.prompt_none_ok = false;
  report.prompt_none_error = null;
  const quiet = await authorization(config, { prompt: 'none' });
  from = navigations.length;
  await visit(quiet.url.href);
  const callback3 = await nextHit('prompt=none authorization');
  try {
    const tokens3 = await client.authorizationCodeGrant(config, callback3, quiet.checks);
    report.prompt_none_ok = tokens3.claims().sub === claims.sub && !pathsSince(from).some(isLoginOrConsent);
    latest = tokens3;
  } catch (e) {
    if (!(e instanceof client.AuthorizationResponseError)) throw e;
    report.prompt_none_error = e.error;
  }

  // 4. RP-initiated logout, then prompt=none must need a login.
  step = 'logout';
  report.logout_redirect_ok = false;
  report.logout_state_ok = false;
  const logoutState = client.randomState();
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: latest.id_token,
    post_logout_redirect_uri: postLogoutUri,
    state: logoutState,
  });
  await visit(endSession.href);
  const back = await nextHit('end session');
  report.logout_redirect_ok = isAt(back.href, postLogoutUri);
  report.logout_state_ok = report.logout_redirect_ok && back.searchParams.get('state') === logoutState;

  step = 'after_logout';
  const after = await authorization(config, { prompt: 'none' });
  await visit(after.url.href);
  const callback4 = await nextHit('prompt=none after logout');
  try {
    await client.authorizationCodeGrant(config, callback4, after.checks);
    report.after_logout_error = null;
  } catch (e) {
    // Thrown only once the answer's iss and state checked out.
    if (!(e instanceof client.AuthorizationResponseError)) throw e;
    report.after_logout_error = e.error;
  }

  step = 'refresh_after_logout';
  report.refresh_after_logout_error = latest.refresh_token ? await refreshError(config, latest.refresh_token) : null;
}

try {
  await run();
  report.console_errors = consoleErrors.splice(0);
  process.stdout.write(`${JSON.stringify(report)}\n`);
} catch (e) {
  const detail = describe(e);
  process.stderr.write(`oidc_rp: ${step}: ${JSON.stringify(detail)}\n${e && e.stack ? e.stack : ''}\n`);
  report.console_errors = consoleErrors.splice(0);
  process.stdout.write(`${JSON.stringify({ ...report, ok: false, failed: step, detail })}\n`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
}
