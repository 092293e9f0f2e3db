// samlify 2 as the customer's SAML 2.0 identity provider: the third SAML peer of the end-to-end
// tests, with the node and pysaml2 peers' HTTP API so one test drives all three. Responses are
// samlify's login-response template filled in and signed by samlify (IdentityProvider
// .createLoginResponse: the assertion signed when the SP wants assertions signed, the message
// when asked); /sso runs samlify's own IdP path (parseLoginRequest of our AuthnRequest with our
// SP metadata, createLoginResponse, HTTP-POST form).
//
// Usage: node tests/browser/saml_idp_samlify.mjs
// Listens on a random port of 127.0.0.1, prints one line
//   {"url":"http://127.0.0.1:<port>","entity_id":"http://127.0.0.1:<port>/metadata"}
// and runs until its stdin closes. HTTP API: see tests/browser/saml_idp.mjs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import samlify from 'samlify'; // (CommonJS: its exports object)

// samlify checks incoming XML (our AuthnRequest) with a pluggable schema validator; well-formed
// XML with a single root is what this test peer asks.
samlify.setSchemaValidator({
  validate: async (xml) => {
    const doc = new DOMParser({ onError: (level, msg) => { throw new Error(msg); } }).parseFromString(xml, 'text/xml');
    if (!doc.documentElement) throw new Error('no root element');
    return 'well-formed';
  },
});

const NS = { samlp: 'urn:oasis:names:tc:SAML:2.0:protocol', saml: 'urn:oasis:names:tc:SAML:2.0:assertion' };
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';

const keys = {};
const dir = mkdtempSync(join(tmpdir(), 'samlify-idp-'));
try {
  for (const name of ['primary', 'secondary', 'rogue']) {
    const [key, crt] = [join(dir, `${name}.key`), join(dir, `${name}.crt`)];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
      '-subj', `/CN=test-samlify-idp-${name}`, '-keyout', key, '-out', crt], { stdio: ['ignore', 'ignore', 'pipe'] });
    keys[name] = { key: readFileSync(key, 'utf8'), cert: readFileSync(crt, 'utf8') };
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const server = createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const url = `http://127.0.0.1:${server.address().port}`;
const entityId = `${url}/metadata`;
let user = { name_id: 'ann@acme.test', attributes: { email: 'ann@acme.test', groups: ['eng'] } };

// samlify's IdP signing with `keyName` (and the algorithm asked for).
function idpOf(keyName, sha1 = false, certs = [keyName]) {
  return samlify.IdentityProvider({
    entityID: entityId,
    privateKey: keys[keyName].key,
    signingCert: certs.length > 1 ? certs.map((n) => keys[n].cert) : keys[certs[0]].cert,
    requestSignatureAlgorithm: sha1 ? RSA_SHA1 : RSA_SHA256,
    nameIDFormat: [EMAIL_FORMAT],
    singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: `${url}/sso` }],
    wantAuthnRequestsSigned: false,
  });
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const instant = (offsetS = 0) => new Date(Date.now() + offsetS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const newId = () => `_${randomBytes(16).toString('hex')}`;

function attributeStatement(attributes) {
  const attrs = Object.entries(attributes).map(([name, v]) => `<saml:Attribute Name="${esc(name)}" `
    + 'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">'
    + [v].flat().map((x) => `<saml:AttributeValue xsi:type="xs:string">${esc(x)}</saml:AttributeValue>`).join('')
    + '</saml:Attribute>').join('');
  return attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '';
}

// samlify's default login-response template with the values of POST /response `o`.
function filled(template, o) {
  let context = template;
  if (o.no_audience) context = context.replace(/<saml:AudienceRestriction>.*?<\/saml:AudienceRestriction>/, '');
  if (o.in_response_to == null) context = context.replace(/ InResponseTo="\{InResponseTo\}"/g, '');
  return samlify.SamlLib.replaceTagsByValue(context, {
    ID: o.response_id,
    AssertionID: o.id,
    Destination: esc(o.destination ?? o.acs),
    Audience: esc(o.audience_override ?? o.audience),
    SubjectRecipient: esc(o.recipient ?? o.acs),
    Issuer: esc(o.issuer),
    IssueInstant: o.issueInstant,
    StatusCode: samlify.Constants.StatusCode.Success,
    ConditionsNotBefore: instant(o.not_before_offset_s ?? -60),
    ConditionsNotOnOrAfter: instant(o.not_on_or_after_offset_s ?? 300),
    SubjectConfirmationDataNotOnOrAfter: instant(o.subject_not_on_or_after_offset_s ?? 300),
    NameIDFormat: EMAIL_FORMAT,
    NameID: esc(o.name_id),
    InResponseTo: esc(o.in_response_to ?? ''),
    AuthnStatement: `<saml:AuthnStatement AuthnInstant="${o.issueInstant}" SessionIndex="${o.id}"><saml:AuthnContext>`
      + '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>'
      + '</saml:AuthnContext></saml:AuthnStatement>',
    AttributeStatement: attributeStatement(o.attributes),
  });
}

// POST /response: samlify builds and signs (fields as the node peer's).
async function mintResponse(body) {
  if (!body.acs || !body.audience) throw new Error('acs and audience are required');
  const signMode = body.sign ?? 'both';
  const keyName = body.key ?? 'primary';
  if (!['assertion', 'response', 'both', 'none'].includes(signMode)) throw new Error(`bad sign ${signMode}`);
  if (!keys[keyName]) throw new Error(`bad key ${keyName}`);
  const nameId = body.name_id ?? 'ann@acme.test';
  const o = {
    ...body,
    id: body.assertion_id ?? newId(),
    response_id: newId(),
    issuer: body.issuer ?? entityId,
    issueInstant: instant(body.issue_instant_offset_s ?? 0),
    name_id: nameId,
    attributes: body.attributes ?? { email: nameId },
  };
  const template = samlify.SamlLib.defaultLoginResponseTemplate.context;
  let xml;
  if (signMode === 'none') {
    xml = filled(template, o); // samlify always signs something: "none" is its template unsigned
  } else {
    const sp = samlify.ServiceProvider({
      entityID: body.audience,
      assertionConsumerService: [{ Binding: samlify.Constants.namespace.binding.post, Location: body.acs }],
      wantAssertionsSigned: signMode !== 'response',
      wantMessageSigned: signMode !== 'assertion',
    });
    const { context } = await idpOf(keyName, body.algorithm === 'sha1').createLoginResponse(
      sp, null, 'post', { email: nameId }, (t) => ({ id: o.response_id, context: filled(t, o) }),
    );
    xml = Buffer.from(context, 'base64').toString('utf8');
  }
  if (body.tamper === 'name_id') {
    xml = xml.replace(/(<saml:NameID[^>]*>)[^<]*/, '$1evil@acme.test');
  } else if (body.tamper) throw new Error(`bad tamper ${body.tamper}`);
  if (body.wrap) {
    // XSW: an unsigned evil Assertion (own ID) before the signed one.
    const evil = filled(template, { ...o, id: newId(), name_id: 'evil@acme.test', attributes: { email: 'evil@acme.test' } });
    const evilAssertion = evil.slice(evil.indexOf('<saml:Assertion'), evil.indexOf('</samlp:Response>'));
    const at = xml.indexOf('<saml:Assertion');
    xml = xml.slice(0, at) + evilAssertion + xml.slice(at);
  }
  return { saml_response: Buffer.from(xml).toString('base64'), xml };
}

function decode(params) {
  const raw = params.get('SAMLRequest');
  if (!raw) throw new Error('SAMLRequest missing');
  const doc = new DOMParser().parseFromString(inflateRawSync(Buffer.from(raw, 'base64')).toString('utf8'), 'text/xml');
  const root = doc.documentElement;
  if (root?.localName !== 'AuthnRequest' || root.namespaceURI !== NS.samlp) throw new Error('not an AuthnRequest');
  const acs = root.getAttribute('AssertionConsumerServiceURL');
  const issuer = root.getElementsByTagNameNS(NS.saml, 'Issuer')[0]?.textContent?.trim();
  if (!acs || !issuer) throw new Error('AuthnRequest without AssertionConsumerServiceURL or Issuer');
  return { id: root.getAttribute('ID'), acs, issuer, destination: root.getAttribute('Destination'), relay_state: params.get('RelayState') };
}

// GET /sso: samlify's IdP path for our SP (known by its metadata, fetched from its entityID).
async function sso(params) {
  const { issuer } = decode(params);
  const res = await fetch(issuer);
  if (!res.ok) throw new Error(`SP metadata: ${res.status}`);
  const sp = samlify.ServiceProvider({ metadata: await res.text() });
  const idp = idpOf('primary');
  const parsed = await idp.parseLoginRequest(sp, 'redirect', { query: Object.fromEntries(params) });
  const { context } = await idp.createLoginResponse(
    sp, parsed, 'post', { email: user.name_id },
    (t) => {
      const o = {
        id: newId(), response_id: newId(), issuer: entityId, issueInstant: instant(),
        acs: sp.entityMeta.getAssertionConsumerService('post'),
        audience: sp.entityMeta.getEntityID(), in_response_to: parsed.extract.request.id,
        name_id: user.name_id, attributes: user.attributes,
      };
      return { id: o.response_id, context: filled(t, o) };
    },
  );
  const acs = sp.entityMeta.getAssertionConsumerService('post');
  const relay = params.get('RelayState');
  console.error(`samlify idp: AuthnRequest ${parsed.extract.request.id} -> ${acs} as ${user.name_id}`);
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test samlify IdP</title></head><body>
<form method="post" action="${esc(acs)}">
<input type="hidden" name="SAMLResponse" value="${esc(context)}">
${relay != null ? `<input type="hidden" name="RelayState" value="${esc(relay)}">\n` : ''}</form>
<script>document.forms[0].submit()</script>
</body></html>
`;
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

server.on('request', async (req, res) => {
  const u = new URL(req.url, url);
  const send = (status, body, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(type === 'application/json' ? JSON.stringify(body) : body);
  };
  try {
    if (req.method === 'GET' && u.pathname === '/metadata') {
      const certs = (u.searchParams.get('certs') || 'primary').split(',').filter(Boolean);
      for (const n of certs) if (!['primary', 'secondary'].includes(n)) throw new Error(`unknown cert ${n}`);
      return send(200, idpOf(certs[0], false, certs).getMetadata(), 'application/samlmetadata+xml');
    }
    if (req.method === 'GET' && u.pathname === '/certs') return send(200, { primary: keys.primary.cert, secondary: keys.secondary.cert });
    if (req.method === 'GET' && u.pathname === '/decode') return send(200, decode(u.searchParams));
    if (req.method === 'GET' && u.pathname === '/sso') return send(200, await sso(u.searchParams), 'text/html; charset=utf-8');
    if (req.method === 'POST' && u.pathname === '/response') return send(200, await mintResponse(await readJson(req)));
    if (req.method === 'POST' && u.pathname === '/user') {
      const body = await readJson(req);
      user = { name_id: body.name_id, attributes: body.attributes ?? { email: body.name_id } };
      return send(200, user);
    }
    return send(404, { error: 'not found' });
  } catch (e) {
    console.error(`samlify idp: ${e && e.stack || e}`);
    return send(400, { error: String(e && e.message || e) });
  }
});

process.stdout.write(`${JSON.stringify({ url, entity_id: entityId })}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
