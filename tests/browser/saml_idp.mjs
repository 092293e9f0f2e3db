// Headless test SAML 2.0 identity provider, the "customer IdP" peer of the Rust end-to-end tests
// (enterprise SSO over SAML). Responses are built here and signed with xml-crypto (RSA-SHA256,
// SHA-256 digests, exclusive c14n, enveloped signature placed right after <Issuer>).
//
// Usage: node tests/browser/saml_idp.mjs
// Listens on a random port of 127.0.0.1, prints one line
//   {"url":"http://127.0.0.1:<port>","entity_id":"http://127.0.0.1:<port>/metadata"}
// and runs until its stdin closes. Everything else goes to stderr.
//
// HTTP API:
//   GET  /metadata?certs=primary,secondary  IdP metadata (signing certs listed; default primary)
//   GET  /certs                             {"primary": "<PEM>", "secondary": "<PEM>"}
//   POST /response {acs, audience, ...}     {"saml_response": "<base64>", "xml": "<xml>"}
//        (fields: see mintResponse below)
//   POST /user {name_id, attributes}        the user /sso signs in; answers the user
//   GET  /sso?SAMLRequest=..&RelayState=..  HTTP-Redirect binding: an auto-submitted HTML form
//        POSTing SAMLResponse (signed "both", primary key) and RelayState to the request's ACS URL
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes, X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';

const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
};
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

// Three RSA-2048 self-signed key pairs: primary and secondary (key rotation) can be published in
// the metadata, rogue never is. openssl builds the certificates (node:crypto has no cert builder).
const keys = {};
const dir = mkdtempSync(join(tmpdir(), 'saml-idp-'));
try {
  for (const name of ['primary', 'secondary', 'rogue']) {
    const [key, crt] = [join(dir, `${name}.key`), join(dir, `${name}.crt`)];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
      '-subj', `/CN=test-saml-idp-${name}`, '-keyout', key, '-out', crt], { stdio: ['ignore', 'ignore', 'pipe'] });
    const cert = readFileSync(crt, 'utf8');
    keys[name] = { key: readFileSync(key, 'utf8'), cert, der: new X509Certificate(cert).raw.toString('base64') };
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const server = createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const url = `http://127.0.0.1:${server.address().port}`;
const entityId = `${url}/metadata`;

// The user GET /sso signs in (POST /user changes it).
let user = { name_id: 'ann@acme.test', attributes: { email: 'ann@acme.test', groups: ['eng'] } };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const instant = (offsetS = 0) => new Date(Date.now() + offsetS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const newId = () => `_${randomBytes(16).toString('hex')}`;

function metadata(certNames) {
  const kds = certNames.map((n) => {
    if (!keys[n] || n === 'rogue') throw new Error(`unknown cert ${n}`);
    return `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${keys[n].der}`
      + '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>';
  }).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="${NS.md}" xmlns:ds="${NS.ds}" entityID="${esc(entityId)}">
<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${NS.samlp}">${kds}`
    + `<md:NameIDFormat>${EMAIL_FORMAT}</md:NameIDFormat>`
    + `<md:SingleSignOnService Binding="${REDIRECT_BINDING}" Location="${esc(url)}/sso"/>`
    + '</md:IDPSSODescriptor></md:EntityDescriptor>\n';
}

// Enveloped signature of the element with this ID, inserted right after its <saml:Issuer> child.
// `sha1`: RSA-SHA1 with SHA-1 digests (what some IdPs still default to), else RSA-SHA256.
function sign(xml, id, keyName, sha1 = false) {
  const { key, cert } = keys[keyName];
  const sig = new SignedXml({
    privateKey: key,
    publicCert: cert, // KeyInfo/X509Data
    signatureAlgorithm: sha1 ? 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' : 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath: `//*[@ID='${id}']`,
    digestAlgorithm: sha1 ? 'http://www.w3.org/2000/09/xmldsig#sha1' : 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
  });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `//*[@ID='${id}']/*[local-name()='Issuer']`, action: 'after' },
  });
  return sig.getSignedXml();
}

function assertionXml(o) {
  const irt = o.in_response_to != null ? ` InResponseTo="${esc(o.in_response_to)}"` : '';
  const audience = o.no_audience ? ''
    : `<saml:AudienceRestriction><saml:Audience>${esc(o.audience_override ?? o.audience)}</saml:Audience></saml:AudienceRestriction>`;
  const attrs = Object.entries(o.attributes).map(([name, v]) => `<saml:Attribute Name="${esc(name)}" `
    + 'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">'
    + [v].flat().map((x) => `<saml:AttributeValue xsi:type="xs:string">${esc(x)}</saml:AttributeValue>`).join('')
    + '</saml:Attribute>').join('');
  return `<saml:Assertion xmlns:saml="${NS.saml}" xmlns:xs="http://www.w3.org/2001/XMLSchema" `
    + `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${esc(o.id)}" Version="2.0" IssueInstant="${o.issueInstant}">`
    + `<saml:Issuer>${esc(o.issuer)}</saml:Issuer>`
    + `<saml:Subject><saml:NameID Format="${EMAIL_FORMAT}">${esc(o.name_id)}</saml:NameID>`
    + '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
    + `<saml:SubjectConfirmationData${irt} Recipient="${esc(o.recipient ?? o.acs)}" `
    + `NotOnOrAfter="${instant(o.subject_not_on_or_after_offset_s ?? 300)}"/></saml:SubjectConfirmation></saml:Subject>`
    + `<saml:Conditions NotBefore="${instant(o.not_before_offset_s ?? -60)}" `
    + `NotOnOrAfter="${instant(o.not_on_or_after_offset_s ?? 300)}">${audience}</saml:Conditions>`
    + `<saml:AuthnStatement AuthnInstant="${o.issueInstant}" SessionIndex="${esc(o.id)}"><saml:AuthnContext>`
    + '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>'
    + '</saml:AuthnContext></saml:AuthnStatement>'
    + (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '')
    + '</saml:Assertion>';
}

// Builds and signs a Response; `body` is the POST /response JSON (see the header / report).
function mintResponse(body) {
  if (!body.acs || !body.audience) throw new Error('acs and audience are required');
  const signMode = body.sign ?? 'both';
  const keyName = body.key ?? 'primary';
  if (!['assertion', 'response', 'both', 'none'].includes(signMode)) throw new Error(`bad sign ${signMode}`);
  if (!keys[keyName]) throw new Error(`bad key ${keyName}`);
  const nameId = body.name_id ?? 'ann@acme.test';
  const o = {
    ...body,
    id: body.assertion_id ?? newId(),
    issuer: body.issuer ?? entityId,
    issueInstant: instant(body.issue_instant_offset_s ?? 0),
    name_id: nameId,
    attributes: body.attributes ?? { email: nameId },
  };
  const responseId = newId();
  let assertion = assertionXml(o);
  const sha1 = body.algorithm === 'sha1';
  if (signMode === 'assertion' || signMode === 'both') assertion = sign(assertion, o.id, keyName, sha1);
  const irt = body.in_response_to != null ? ` InResponseTo="${esc(body.in_response_to)}"` : '';
  let xml = `<samlp:Response xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${responseId}"${irt} Version="2.0" `
    + `IssueInstant="${o.issueInstant}" Destination="${esc(body.destination ?? body.acs)}">`
    + `<saml:Issuer>${esc(o.issuer)}</saml:Issuer>`
    + `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`
    + `${assertion}</samlp:Response>`;
  if (signMode === 'response' || signMode === 'both') xml = sign(xml, responseId, keyName, sha1);
  if (body.tamper === 'name_id') {
    // After signing: the digest no longer matches.
    xml = xml.replace(/(<saml:NameID[^>]*>)[^<]*/, '$1evil@acme.test');
  } else if (body.tamper) throw new Error(`bad tamper ${body.tamper}`);
  if (body.wrap) {
    // XSW: an unsigned evil Assertion (own ID) becomes the Response's first Assertion; the signed one stays.
    const evil = assertionXml({ ...o, id: newId(), name_id: 'evil@acme.test', attributes: { email: 'evil@acme.test' } });
    const at = xml.indexOf('<saml:Assertion');
    xml = xml.slice(0, at) + evil + xml.slice(at);
  }
  return { saml_response: Buffer.from(xml).toString('base64'), xml };
}

// The deflated AuthnRequest of an HTTP-Redirect binding: its ID, ACS URL, Issuer, Destination.
function decode(params) {
  const raw = params.get('SAMLRequest');
  if (!raw) throw new Error('SAMLRequest missing');
  const reqXml = inflateRawSync(Buffer.from(raw, 'base64')).toString('utf8');
  const doc = new DOMParser().parseFromString(reqXml, 'text/xml');
  const root = doc.documentElement;
  if (root?.localName !== 'AuthnRequest' || root.namespaceURI !== NS.samlp) throw new Error('not an AuthnRequest');
  const acs = root.getAttribute('AssertionConsumerServiceURL');
  const issuer = root.getElementsByTagNameNS(NS.saml, 'Issuer')[0]?.textContent?.trim();
  if (!acs || !issuer) throw new Error('AuthnRequest without AssertionConsumerServiceURL or Issuer');
  return { root, acs, issuer, id: root.getAttribute('ID'), destination: root.getAttribute('Destination') };
}

// GET /sso: decode the deflated AuthnRequest and answer the IdP's auto-submitted POST form.
function sso(params) {
  const { root, acs, issuer } = decode(params);
  console.error(`saml_idp: AuthnRequest ${root.getAttribute('ID')} from ${issuer} -> ${acs} as ${user.name_id}`);
  const { saml_response: samlResponse } = mintResponse({
    acs, audience: issuer, in_response_to: root.getAttribute('ID'), name_id: user.name_id, attributes: user.attributes,
  });
  const relay = params.get('RelayState');
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test SAML IdP</title></head><body>
<form method="post" action="${esc(acs)}">
<input type="hidden" name="SAMLResponse" value="${esc(samlResponse)}">
${relay != null ? `<input type="hidden" name="RelayState" value="${esc(relay)}">\n` : ''}<noscript><button type="submit">Continue</button></noscript>
</form>
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
  const send = (status, type, body) => { res.writeHead(status, { 'Content-Type': type }); res.end(body); };
  const json = (status, v) => send(status, 'application/json', JSON.stringify(v));
  try {
    const u = new URL(req.url, url);
    const route = `${req.method} ${u.pathname}`;
    if (route === 'GET /metadata') {
      send(200, 'application/xml', metadata((u.searchParams.get('certs') ?? 'primary').split(',').filter(Boolean)));
    } else if (route === 'GET /certs') {
      json(200, { primary: keys.primary.cert, secondary: keys.secondary.cert });
    } else if (route === 'POST /response') {
      json(200, mintResponse(await readJson(req)));
    } else if (route === 'POST /user') {
      const b = await readJson(req);
      if (typeof b.name_id !== 'string') throw new Error('name_id required');
      user = { name_id: b.name_id, attributes: b.attributes ?? { email: b.name_id } };
      json(200, user);
    } else if (route === 'GET /decode') {
      const { acs, issuer, id, destination } = decode(u.searchParams);
      json(200, { id, acs, issuer, destination, relay_state: u.searchParams.get('RelayState') });
    } else if (route === 'GET /sso') {
      send(200, 'text/html; charset=utf-8', sso(u.searchParams));
    } else {
      json(404, { error: `no route ${route}` });
    }
  } catch (err) {
    console.error('saml_idp:', err);
    json(400, { error: String(err?.message ?? err) });
  }
});

console.log(JSON.stringify({ url, entity_id: entityId }));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
