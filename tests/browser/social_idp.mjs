// Test stand-in for the consumer providers whose protocol is not plain OpenID Connect, speaking
// each one's wire format as documented: GitHub (OAuth 2.0 + REST `/user`, `/user/emails`),
// Discord (OAuth 2.0 + `/users/@me`), Microsoft's multi-tenant `common` endpoint (OIDC whose
// discovery issuer is `…/{tenantid}/v2.0`) and Sign in with Apple (OIDC answering by
// `response_mode=form_post`, a client secret that is an ES256 JWT signed with the team's key,
// `email_verified` as the string "true", the user's name in a `user` form field).
//
// Usage: node tests/browser/social_idp.mjs
// Listens on a random port of 127.0.0.1, prints one line {"base":"http://127.0.0.1:<port>"} and
// runs until its stdin closes. Set up by the test over HTTP:
//   POST /_client/<provider> {client_id, client_secret?, redirect_uri, team_id?, key_id?, public_key_pem?}
//   POST /_next/<provider>   the account the next authorization signs in as (or {"deny": true})
//   GET  /_log               every token request seen: [{provider, ok, why}]
//   GET  /_apple_key         {private_pem}: the team key (PKCS#8) Apple's client secret is checked with
// Every check fails loudly: a wrong client, secret, redirect URI or PKCE verifier is refused
// the way the real provider refuses it.
import { createServer } from 'node:http';
import {
  createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify,
} from 'node:crypto';

const clients = {};
const next = {};
const codes = new Map();
const tokens = new Map();
const log = [];
let base = '';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'social-idp-1', alg: 'RS256', use: 'sig' };
// The key Apple would hand the team (the .p8 file): the test configures its PEM as the secret.
const appleKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const applePrivatePem = appleKey.privateKey.export({ format: 'pem', type: 'pkcs8' });
const applePublicPem = appleKey.publicKey.export({ format: 'pem', type: 'spki' });

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const random = () => randomBytes(24).toString('base64url');

function signJwt(claims) {
  const header = b64url(JSON.stringify({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' }));
  const payload = b64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), privateKey);
  return `${header}.${payload}.${b64url(signature)}`;
}

// Apple's check of the client secret: ES256 by the team's key, naming the team and the app.
function appleSecretProblem(jwt, client, audience) {
  const parts = (jwt || '').split('.');
  if (parts.length !== 3) return 'client_secret is not a JWT';
  const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  if (header.alg !== 'ES256') return `alg ${header.alg}`;
  if (header.kid !== client.key_id) return `kid ${header.kid}`;
  const key = createPublicKey(client.public_key_pem || applePublicPem);
  const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(parts[2], 'base64url'));
  if (!ok) return 'signature';
  if (claims.iss !== client.team_id) return `iss ${claims.iss}`;
  if (claims.sub !== client.client_id) return `sub ${claims.sub}`;
  if (claims.aud !== audience) return `aud ${claims.aud}`;
  const now = Math.floor(Date.now() / 1000);
  if (!(claims.exp > now && claims.iat <= now + 60)) return 'expired';
  return null;
}

const send = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// The authorization endpoint of every provider: checks the client and redirect URI, then
// answers at once as the next account (no page), by redirect or (Apple) an auto-posting form.
function authorize(provider, url, res) {
  const q = url.searchParams;
  const client = clients[provider];
  if (!client || q.get('client_id') !== client.client_id) return send(res, 400, { error: 'unknown client' });
  if (q.get('redirect_uri') !== client.redirect_uri) return send(res, 400, { error: 'redirect_uri mismatch' });
  if (q.get('response_type') !== 'code') return send(res, 400, { error: 'response_type' });
  if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return send(res, 400, { error: 'PKCE S256 required' });
  const account = next[provider];
  const params = { state: q.get('state') };
  if (!account || account.deny) {
    params.error = 'access_denied';
  } else {
    const code = random();
    codes.set(code, {
      provider, account, redirect_uri: client.redirect_uri, challenge: q.get('code_challenge'),
      nonce: q.get('nonce'), scope: q.get('scope'),
    });
    params.code = code;
    if (provider === 'apple' && account.name && !account.named) {
      account.named = true; // Apple sends the name once, on the first authorization.
      params.user = JSON.stringify({ name: account.name, email: account.email });
    }
  }
  if (provider === 'apple') {
    if (q.get('response_mode') !== 'form_post') return send(res, 400, { error: 'response_mode must be form_post with name/email scopes' });
    const inputs = Object.entries(params)
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">`)
      .join('');
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end(`<!doctype html><form method="post" action="${client.redirect_uri}">${inputs}</form>` +
      '<script>document.forms[0].submit()</script>');
  }
  const target = new URL(client.redirect_uri);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  res.writeHead(302, { location: target.toString() });
  return res.end();
}

// The token endpoint: the code, once, with its client, secret, redirect URI and verifier.
function exchange(provider, req, form) {
  const client = clients[provider];
  let id = form.get('client_id');
  let secret = form.get('client_secret');
  const basic = req.headers.authorization;
  if (basic?.startsWith('Basic ')) {
    if (provider === 'apple' || provider === 'github') return { why: 'basic auth is not accepted' };
    const [u, p] = Buffer.from(basic.slice(6), 'base64').toString().split(':').map(decodeURIComponent);
    id = u; secret = p;
  }
  if (!client || id !== client.client_id) return { why: 'client_id' };
  if (provider === 'apple') {
    const problem = appleSecretProblem(secret, client, `${base}/apple`);
    if (problem) return { why: `client_secret: ${problem}` };
  } else if (secret !== client.client_secret) {
    return { why: 'client_secret' };
  }
  const grant = codes.get(form.get('code'));
  codes.delete(form.get('code'));
  if (!grant || grant.provider !== provider) return { why: 'code' };
  if (form.get('redirect_uri') !== grant.redirect_uri) return { why: 'redirect_uri' };
  const verifier = form.get('code_verifier') || '';
  if (b64url(createHash('sha256').update(verifier).digest()) !== grant.challenge) return { why: 'code_verifier' };
  return { grant };
}

function idToken(provider, grant) {
  const a = grant.account;
  const now = Math.floor(Date.now() / 1000);
  const claims = { aud: clients[provider].client_id, sub: a.sub, iat: now, exp: now + 300, nonce: grant.nonce };
  if (provider === 'microsoft') {
    Object.assign(claims, {
      iss: `${base}/ms/${a.iss_tenant || a.tid}/v2.0`, tid: a.tid, email: a.email, name: a.name,
      ver: '2.0',
    });
    if (a.xms_edov !== undefined) claims.xms_edov = a.xms_edov;
    if (a.email_verified !== undefined) claims.email_verified = a.email_verified;
  } else {
    Object.assign(claims, {
      iss: `${base}/apple`, email: a.email, email_verified: a.email_verified ?? 'true',
      is_private_email: 'false', auth_time: now,
    });
  }
  return signJwt(claims);
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, base);
    const path = url.pathname;
    const raw = req.method === 'POST' ? await readBody(req) : '';
    const form = new URLSearchParams(raw);
    let m;
    if (req.method === 'POST' && (m = path.match(/^\/_client\/(\w+)$/))) {
      clients[m[1]] = JSON.parse(raw);
      return send(res, 204, '');
    }
    if (req.method === 'POST' && (m = path.match(/^\/_next\/(\w+)$/))) {
      next[m[1]] = JSON.parse(raw);
      return send(res, 204, '');
    }
    if (path === '/_log') return send(res, 200, log);
    if (path === '/_apple_key') return send(res, 200, { private_pem: applePrivatePem });

    // GitHub
    if (path === '/github/login/oauth/authorize') return authorize('github', url, res);
    if (path === '/github/login/oauth/access_token' && req.method === 'POST') {
      const { grant, why } = exchange('github', req, form);
      log.push({ provider: 'github', ok: !!grant, why });
      // GitHub answers a refused code with 200 and an error (when JSON is asked for).
      if (!grant) return send(res, 200, { error: 'bad_verification_code', error_description: why });
      if (req.headers.accept !== 'application/json') return send(res, 200, 'access_token=x', { 'content-type': 'application/x-www-form-urlencoded' });
      const token = `gho_${random()}`;
      tokens.set(token, grant.account);
      return send(res, 200, { access_token: token, token_type: 'bearer', scope: grant.scope.replace(/ /g, ',') });
    }
    if (path.startsWith('/github/api/')) {
      if (!req.headers['user-agent']) return send(res, 403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header' });
      const account = tokens.get((req.headers.authorization || '').replace(/^Bearer /, ''));
      if (!account) return send(res, 401, { message: 'Bad credentials' });
      if (path === '/github/api/user') {
        return send(res, 200, { id: account.id, login: account.login, name: account.name ?? null, email: account.public_email ?? null });
      }
      if (path === '/github/api/user/emails') return send(res, 200, account.emails || []);
    }

    // Discord
    if (path === '/discord/oauth2/authorize') return authorize('discord', url, res);
    if (path === '/discord/api/oauth2/token' && req.method === 'POST') {
      if (form.get('grant_type') !== 'authorization_code') return send(res, 400, { error: 'unsupported_grant_type' });
      const { grant, why } = exchange('discord', req, form);
      log.push({ provider: 'discord', ok: !!grant, why });
      if (!grant) return send(res, 400, { error: 'invalid_grant', error_description: why });
      const token = random();
      tokens.set(token, grant.account);
      return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 604800, refresh_token: random(), scope: grant.scope });
    }
    if (path === '/discord/api/users/@me') {
      const account = tokens.get((req.headers.authorization || '').replace(/^Bearer /, ''));
      if (!account) return send(res, 401, { message: '401: Unauthorized', code: 0 });
      return send(res, 200, account);
    }

    // Microsoft (the multi-tenant `common` endpoint)
    if (path === '/ms/common/v2.0/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer: `${base}/ms/{tenantid}/v2.0`,
        authorization_endpoint: `${base}/ms/common/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/ms/common/oauth2/v2.0/token`,
        jwks_uri: `${base}/ms/common/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token'],
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'name', 'email', 'tid'],
      });
    }
    if (path === '/ms/common/discovery/v2.0/keys' || path === '/apple/auth/keys') return send(res, 200, { keys: [jwk] });
    if (path === '/ms/common/oauth2/v2.0/authorize') return authorize('microsoft', url, res);
    if (path === '/ms/common/oauth2/v2.0/token' && req.method === 'POST') {
      const { grant, why } = exchange('microsoft', req, form);
      log.push({ provider: 'microsoft', ok: !!grant, why });
      if (!grant) return send(res, 400, { error: 'invalid_grant', error_description: why });
      return send(res, 200, { token_type: 'Bearer', access_token: random(), expires_in: 3600, id_token: idToken('microsoft', grant), scope: grant.scope });
    }

    // Apple
    if (path === '/apple/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer: `${base}/apple`,
        authorization_endpoint: `${base}/apple/auth/authorize`,
        token_endpoint: `${base}/apple/auth/token`,
        jwks_uri: `${base}/apple/auth/keys`,
        response_types_supported: ['code'],
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid', 'email', 'name'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
        claims_supported: ['aud', 'email', 'email_verified', 'exp', 'iat', 'is_private_email', 'iss', 'nonce', 'nonce_supported', 'real_user_status', 'sub', 'transfer_sub'],
      });
    }
    if (path === '/apple/auth/authorize') return authorize('apple', url, res);
    if (path === '/apple/auth/token' && req.method === 'POST') {
      const { grant, why } = exchange('apple', req, form);
      log.push({ provider: 'apple', ok: !!grant, why });
      if (!grant) return send(res, 400, { error: why.startsWith('client_secret') ? 'invalid_client' : 'invalid_grant' });
      return send(res, 200, { access_token: random(), token_type: 'Bearer', expires_in: 3600, refresh_token: random(), id_token: idToken('apple', grant) });
    }
    return send(res, 404, { error: `no route ${req.method} ${path}` });
  } catch (e) {
    return send(res, 500, { error: String(e && e.stack || e) });
  }
});

server.listen(0, '127.0.0.1', () => {
  base = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`${JSON.stringify({ base })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
