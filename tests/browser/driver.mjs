// Drives headless Chromium (playwright-core) for the end-to-end tests: pages of the hosted UI,
// and passkey ceremonies through a CDP virtual authenticator.
//
// Usage: node driver.mjs <base URL>
// Reads one JSON step per line on stdin, answers one JSON line per step on stdout (the first
// line out is {"ready":true}). Page steps: goto, fill, click, check_text, wait_url, url, text,
// viewport, axe, screenshot, focus_order, csp_violations. Ceremony steps (run in the page with fetch):
//   {"op":"register","key":K,"access":T,"name":N}  -> {status, body} of register/finish
//   {"op":"login","key":K,"email"?:E,"two_factor_token"?:T,"tamper"?:true}
//                                                    -> {status, body} of login/finish
//   {"op":"reauth","key":K,"access":T}               -> {status, body} of /reauthenticate
//   {"op":"credentials"}                             -> the authenticator's credentials
// Every answer carries the page's console errors since the previous step.
import readline from 'node:readline';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const base = process.argv[2];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext();
let page = await context.newPage();
const consoleErrors = [];
function attach(p) {
  p.on('console', (m) => {
    // The browser's own favicon probe of non-HTML pages (e.g. /healthz) is not the app's error.
    if (m.type() === 'error' && !(m.location().url || '').endsWith('/favicon.ico')) consoleErrors.push(m.text());
  });
  p.on('pageerror', (e) => consoleErrors.push(String(e)));
  // Confirmation dialogs (the portal asks before rotating keys) are accepted, as a user would.
  p.on('dialog', (d) => d.accept());
}
attach(page);
const cspViolations = [];
await context.exposeBinding('__cspViolation', (_source, v) => cspViolations.push(v));
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolation(`${e.violatedDirective} ${e.blockedURI}`);
  });
});
await page.goto(`${base}/healthz`);
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const cdp = await context.newCDPSession(page);
await cdp.send('WebAuthn.enable');
const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
  options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
    hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
  },
});

// Runs in the page (same origin as the API): the browser does the real WebAuthn work.
async function runStep(step) {
  const dec = (s) => {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '==='.slice((b64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };
  const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const post = async (path, body, extra = {}) => {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': step.key, ...extra },
      body: JSON.stringify(body),
    });
    let json = null;
    try { json = await res.json(); } catch { /* empty body */ }
    return { status: res.status, body: json };
  };
  if (step.op === 'register') {
    const auth = { Authorization: `Bearer ${step.access}` };
    const begin = await post('/api/auth/passkey/register/begin', { name: step.name }, auth);
    if (begin.status !== 200) return { stage: 'begin', ...begin };
    const pk = begin.body.options.publicKey;
    pk.challenge = dec(pk.challenge);
    pk.user.id = dec(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => { c.id = dec(c.id); });
    let cred;
    try {
      cred = await navigator.credentials.create({ publicKey: pk });
    } catch (e) {
      return { stage: 'create', error: `${e.name}: ${e.message}` };
    }
    const credential = {
      id: cred.id,
      rawId: enc(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: enc(cred.response.attestationObject),
        clientDataJSON: enc(cred.response.clientDataJSON),
        transports: cred.response.getTransports ? cred.response.getTransports() : [],
      },
      extensions: cred.getClientExtensionResults(),
    };
    return post('/api/auth/passkey/register/finish',
      { session_id: begin.body.session_id, credential, name: step.name }, auth);
  }
  if (step.op === 'login' || step.op === 'reauth') {
    // reauth: the signed-in user (step.access) proves presence again with a passkey.
    const reauth = step.op === 'reauth';
    const auth = reauth ? { Authorization: `Bearer ${step.access}` } : {};
    const begin = reauth
      ? await post('/api/auth/reauthenticate/passkey/begin', {}, auth)
      : await post('/api/auth/passkey/login/begin',
        { email: step.email, two_factor_token: step.two_factor_token });
    if (begin.status !== 200) return { stage: 'begin', ...begin };
    const pk = begin.body.options.publicKey;
    pk.challenge = dec(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => { c.id = dec(c.id); });
    let cred;
    try {
      cred = await navigator.credentials.get({ publicKey: pk });
    } catch (e) {
      return { stage: 'get', error: `${e.name}: ${e.message}` };
    }
    const signature = new Uint8Array(cred.response.signature).slice();
    if (step.tamper) signature[signature.length - 1] ^= 0x01;
    const credential = {
      id: cred.id,
      rawId: enc(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: enc(cred.response.authenticatorData),
        clientDataJSON: enc(cred.response.clientDataJSON),
        signature: enc(signature),
        userHandle: cred.response.userHandle ? enc(cred.response.userHandle) : null,
      },
      extensions: cred.getClientExtensionResults(),
    };
    if (reauth) {
      return post('/api/auth/reauthenticate',
        { passkey: { session_id: begin.body.session_id, credential } }, auth);
    }
    return post('/api/auth/passkey/login/finish', {
      session_id: begin.body.session_id, credential, token_transport: 'json',
    });
  }
  return { error: `unknown op ${step.op}` };
}

const target = (step) => {
  const exact = step.exact !== false;
  return (step.label
    ? page.getByLabel(step.label, { exact })
    : page.getByRole(step.role || 'button', { name: step.name, exact })).nth(step.nth || 0);
};

async function pageStep(step) {
  const timeout = step.timeout || 15000;
  switch (step.op) {
    case 'credentials':
      return cdp.send('WebAuthn.getCredentials', { authenticatorId });
    case 'register':
    case 'login':
    case 'reauth':
      return page.evaluate(runStep, step);
    case 'new_tab': {
      // Another tab of the same browser (shared cookies and localStorage, fresh sessionStorage).
      page = await context.newPage();
      attach(page);
      return {};
    }
    case 'goto':
      await page.goto(step.url.startsWith('http') ? step.url : `${base}${step.url}`, { waitUntil: 'load' });
      return { url: page.url() };
    case 'fill':
      await target(step).fill(step.value, { timeout });
      return {};
    case 'select':
      await target(step).selectOption(step.value, { timeout });
      return {};
    case 'click':
      await target(step).click({ timeout });
      return {};
    case 'press':
      await page.keyboard.press(step.key);
      return {};
    case 'check_text':
      await page.getByText(step.text, { exact: false }).first().waitFor({ timeout });
      return { found: true };
    case 'wait_selector':
      await page.locator(step.selector).first().waitFor({ timeout, state: step.state || 'visible' });
      return { found: true };
    case 'wait_url':
      await page.waitForURL((u) => u.pathname === step.path, { timeout });
      return { url: page.url() };
    case 'url':
      return { url: page.url() };
    case 'text':
      return { text: await page.locator(step.selector).allInnerTexts() };
    case 'viewport':
      await page.setViewportSize({ width: step.width, height: step.height });
      return {};
    case 'axe': {
      await page.evaluate(axeSource);
      const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
      return {
        violations: res.violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) })),
      };
    }
    case 'screenshot':
      await page.screenshot({ path: step.path, fullPage: Boolean(step.full_page) });
      return {};
    case 'overflow':
      return { overflow: await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1) };
    case 'focus_order': {
      const seen = [];
      for (let i = 0; i < (step.count || 8); i += 1) {
        if (i > 0) await page.keyboard.press('Tab');
        seen.push(await page.evaluate(() => {
          const a = document.activeElement;
          if (!a || a === document.body) return '';
          const label = a.id && document.querySelector(`label[for="${a.id}"]`);
          return `${a.tagName.toLowerCase()}:${(label && label.textContent) || a.getAttribute('aria-label') || a.textContent || ''}`.trim();
        }));
      }
      return { order: seen };
    }
    case 'csp_violations':
      return { violations: cspViolations.splice(0) };
    default:
      return { error: `unknown op ${step.op}` };
  }
}

const out = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
consoleErrors.length = 0; // the blank start page's own noise (e.g. its favicon)
out({ ready: true });
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const step = JSON.parse(line);
  if (step.op === 'quit') break;
  let result;
  try {
    result = await pageStep(step);
  } catch (e) {
    result = { error: String(e) };
  }
  result.console_errors = consoleErrors.splice(0);
  out(result);
}
await browser.close();
