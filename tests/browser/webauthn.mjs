// Drives passkey ceremonies in headless Chromium with a CDP virtual authenticator.
//
// Usage: node webauthn.mjs <base URL>
// Reads one JSON step per line on stdin, answers one JSON line per step on stdout:
//   {"op":"register","key":K,"access":T,"name":N}           -> {status, body} of register/finish
//   {"op":"login","key":K,"email"?:E,"two_factor_token"?:T,"tamper"?:true}
//                                                             -> {status, body} of login/finish
//   {"op":"credentials"}                                      -> the authenticator's credentials
//   {"op":"quit"}
// The first line out is {"ready":true}. Console errors of the page are reported per step.
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const base = process.argv[2];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext();
const page = await context.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
await page.goto(`${base}/healthz`);
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
  if (step.op === 'login') {
    const begin = await post('/api/auth/passkey/login/begin',
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
    return post('/api/auth/passkey/login/finish', {
      session_id: begin.body.session_id, credential, token_transport: 'json',
    });
  }
  return { error: `unknown op ${step.op}` };
}

const out = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
out({ ready: true });
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const step = JSON.parse(line);
  if (step.op === 'quit') break;
  let result;
  try {
    if (step.op === 'credentials') {
      result = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    } else {
      result = await page.evaluate(runStep, step);
    }
  } catch (e) {
    result = { error: String(e) };
  }
  result.console_errors = consoleErrors.splice(0);
  out(result);
}
await browser.close();
