// Headless test OpenID Connect identity provider (oidc-provider 9), the "customer IdP"
// peer of the Rust end-to-end tests (enterprise SSO, social sign-in).
//
// Usage: node tests/browser/oidc_idp.mjs <config.json>
// Listens on a random port of 127.0.0.1, prints one line {"issuer":"http://127.0.0.1:<port>"}
// and runs until its stdin closes. The config file is re-read on every lookup:
//   {"clients":[{"client_id","client_secret","redirect_uris",["token_endpoint_auth_method"]}],
//    "accounts":[{"sub","email","email_verified","given_name","family_name","groups"}],
//    "default_account":"<sub>"}
// Interactions finish without any page: the account is the one whose email or sub equals
// the `login_hint` parameter, else `default_account`; consent is granted for what was asked.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { interactionPolicy } from 'oidc-provider';

console.info = console.error; // oidc-provider notices go to stderr: stdout carries only the issuer line

const configPath = process.argv[2];
if (!configPath) throw new Error('usage: oidc_idp.mjs <config.json>');
const readConfig = () => JSON.parse(readFileSync(configPath, 'utf8'));

// The account a request signs in as: login_hint (email, case-insensitive, or sub), else the default.
function pickAccount(loginHint) {
  const { accounts = [], default_account: fallback } = readConfig();
  const hint = typeof loginHint === 'string' ? loginHint.toLowerCase() : undefined;
  const hinted = hint && accounts.find((a) => a.sub === loginHint || a.email?.toLowerCase() === hint);
  return hinted ? hinted.sub : fallback;
}

// Adapter: `Client` comes from the config file; every other model lives in one in-memory Map.
const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }
class Adapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(this.key(id), { payload, expiresAt });
  }
  async find(id) {
    if (this.model === 'Client') {
      const c = (readConfig().clients ?? []).find((x) => x.client_id === id);
      return c && {
        client_id: c.client_id,
        client_secret: c.client_secret,
        redirect_uris: c.redirect_uris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
      };
    }
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) { store.delete(this.key(id)); return undefined; }
    return entry.payload;
  }
  async #findBy(field, value) {
    for (const [key, { payload }] of store) {
      if (key.startsWith(`${this.model}:`) && payload[field] === value) return this.find(key.slice(this.model.length + 1));
    }
    return undefined;
  }
  findByUid(uid) { return this.#findBy('uid', uid); }
  findByUserCode(userCode) { return this.#findBy('userCode', userCode); }
  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const [key, { payload }] of store) if (payload.grantId === grantId) store.delete(key);
  }
}

// Re-prompt for login when login_hint names an account other than the signed-in one.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check('login_hint_mismatch', 'login_hint names another account', (ctx) => {
  const { login_hint: hint } = ctx.oidc.params;
  return hint !== undefined && ctx.oidc.session.accountId !== undefined
    && ctx.oidc.session.accountId !== pickAccount(hint);
}));

// RS256 signing key generated at startup.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-idp-rs256', alg: 'RS256', use: 'sig' };

const server = createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  adapter: Adapter,
  async findAccount(ctx, id) {
    const a = (readConfig().accounts ?? []).find((x) => x.sub === id);
    return a && {
      accountId: a.sub,
      async claims() {
        return {
          sub: a.sub,
          email: a.email,
          email_verified: a.email_verified,
          given_name: a.given_name,
          family_name: a.family_name,
          name: a.name ?? ([a.given_name, a.family_name].filter(Boolean).join(' ') || undefined),
          groups: a.groups,
        };
      },
    };
  },
  claims: {
    openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name', 'name'], groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false, // requested claims go into the ID token itself
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 supports
  features: { devInteractions: { enabled: false } },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomBytes(32).toString('base64url')] }, // plain http: cookies are not `secure`
  jwks: { keys: [signingKey] },
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
});

// Finish an interaction (login and/or consent prompt) in code; the browser is redirected back to
// /auth/<uid>, which opens another interaction if one is still needed.
async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  const accountId = prompt.name === 'login' || !session?.accountId ? pickAccount(params.login_hint) : session.accountId;
  if (session?.accountId && session.accountId !== accountId) {
    // Switching accounts: oidc-provider would answer with a JS auto-submitted logout form.
    // Drop the old session instead so that the redirect chain stays plain 303s.
    const stale = await provider.Session.findByUid(session.uid);
    delete details.session;
    await details.save(details.exp - Math.floor(Date.now() / 1000));
    await stale?.destroy();
  }
  const existing = details.grantId && await provider.Grant.find(details.grantId);
  const grant = existing?.accountId === accountId ? existing : new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope([...new Set([...String(params.scope ?? '').split(' '), ...(prompt.details.missingOIDCScope ?? [])])].filter(Boolean).join(' '));
  if (prompt.details.missingOIDCClaims?.length) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const result = { consent: { grantId: await grant.save() } };
  if (prompt.name === 'login') result.login = { accountId };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.method === 'GET' && /^\/interaction\/[^/?]+(\?|$)/.test(req.url)) {
    finishInteraction(req, res).catch((err) => {
      console.error('interaction failed:', err);
      res.statusCode = 500;
      res.end(String(err?.message ?? err));
    });
  } else {
    callback(req, res);
  }
});

console.log(JSON.stringify({ issuer }));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
