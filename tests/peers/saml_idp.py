#!/usr/bin/env python3
"""pysaml2 as the customer's SAML 2.0 identity provider: the second SAML peer of the end-to-end
tests, beside the node one (tests/browser/saml_idp.mjs), with the same HTTP API so one test
drives both. Responses are pysaml2's objects, serialized by pysaml2 and signed by its xmlsec1
backend (RSA-SHA256, SHA-256 digests, exclusive c14n); /sso runs pysaml2's own IdP path
(Server.parse_authn_request of our AuthnRequest, create_authn_response for our SP metadata,
apply_binding HTTP-POST).

Usage: python3 tests/peers/saml_idp.py
Listens on a random port of 127.0.0.1, prints one line
  {"url":"http://127.0.0.1:<port>","entity_id":"http://127.0.0.1:<port>/metadata"}
and runs until its stdin closes. Everything else goes to stderr.

HTTP API (as the node peer):
  GET  /metadata?certs=primary,secondary  IdP metadata (pysaml2's, signing certs listed)
  GET  /certs                             {"primary": "<PEM>", "secondary": "<PEM>"}
  POST /response {acs, audience, ...}     {"saml_response": "<base64>", "xml": "<xml>"}
  POST /user {name_id, attributes}        the user /sso signs in
  GET  /decode?SAMLRequest=..             {id, acs, issuer, destination, relay_state}
  GET  /sso?SAMLRequest=..&RelayState=..  pysaml2's answer: an auto-submitted HTTP-POST form
"""

import base64
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import urllib.request
import zlib
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
from xml.etree import ElementTree

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, class_name, saml, samlp
from saml2.authn_context import PASSWORDPROTECTEDTRANSPORT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_ENTITY
from saml2.server import Server
from saml2.sigver import get_xmlsec_binary, pre_signature_part, signed_instance_factory
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

NS = {
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "saml": saml.NAMESPACE,
    "samlp": samlp.NAMESPACE,
}
NSPAIR = {"saml": saml.NAMESPACE, "samlp": samlp.NAMESPACE}

WORK = tempfile.mkdtemp(prefix="pysaml2-idp-")
KEYS = {}
for name in ("primary", "secondary", "rogue"):
    key, crt = os.path.join(WORK, f"{name}.key"), os.path.join(WORK, f"{name}.crt")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
         "-subj", f"/CN=test-pysaml2-idp-{name}", "-keyout", key, "-out", crt],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with open(crt, encoding="ascii") as f:
        KEYS[name] = {"key": key, "crt": crt, "pem": f.read()}

SERVER = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
URL = f"http://127.0.0.1:{SERVER.server_address[1]}"
ENTITY_ID = f"{URL}/metadata"
XMLSEC = get_xmlsec_binary(["/usr/bin", "/usr/local/bin"])

USER = {"name_id": "ann@acme.test", "attributes": {"email": "ann@acme.test", "groups": ["eng"]}}


def config(key_name, sp_metadata=None):
    """pysaml2's IdP configuration signing with `key_name` (knowing the SP by its metadata)."""
    conf = {
        "entityid": ENTITY_ID,
        "service": {
            "idp": {
                "endpoints": {"single_sign_on_service": [(f"{URL}/sso", BINDING_HTTP_REDIRECT)]},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                "want_authn_requests_signed": False,
                "policy": {
                    "default": {
                        "lifetime": {"minutes": 5},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_BASIC,
                    }
                },
            }
        },
        "key_file": KEYS[key_name]["key"],
        "cert_file": KEYS[key_name]["crt"],
        "xmlsec_binary": XMLSEC,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "delete_tmpfiles": True,
    }
    if sp_metadata:
        path = os.path.join(WORK, f"sp-{secrets.token_hex(8)}.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(sp_metadata)
        conf["metadata"] = {"local": [path]}
    loaded = IdPConfig()
    loaded.load(conf)
    return loaded


SERVERS = {name: Server(config=config(name)) for name in KEYS}


def instant(offset_s=0):
    at = datetime.now(timezone.utc) + timedelta(seconds=offset_s)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id():
    return "_" + secrets.token_hex(16)


def metadata(cert_names):
    """pysaml2's metadata for the IdP, with a signing KeyDescriptor per certificate listed."""
    names = [n for n in cert_names.split(",") if n]
    for n in names:
        if n not in ("primary", "secondary"):
            raise ValueError(f"unknown cert {n}")
    xml = create_metadata_string(None, config=config(names[0])).decode("utf-8")
    for extra in names[1:]:
        der = "".join(KEYS[extra]["pem"].strip().splitlines()[1:-1])
        m = re.search(r"<(\w+:)?KeyDescriptor use=\"signing\">.*?</(\w+:)?KeyDescriptor>", xml, re.S)
        block = m.group(0)
        first = re.search(r"<(\w+:)?X509Certificate>(.*?)</", block, re.S).group(2)
        xml = xml.replace(block, block + block.replace(first, der), 1)
    return xml


def assertion_for(o):
    """The Assertion of POST /response `o`, as pysaml2 objects."""
    audience = [] if o.get("no_audience") else [
        saml.AudienceRestriction(audience=[saml.Audience(text=o.get("audience_override") or o["audience"])])
    ]
    attributes = [
        saml.Attribute(
            name=name, name_format=NAME_FORMAT_BASIC,
            attribute_value=[saml.AttributeValue(text=str(v)) for v in (vals if isinstance(vals, list) else [vals])],
        )
        for name, vals in o["attributes"].items()
    ]
    return saml.Assertion(
        id=o["id"], version="2.0", issue_instant=o["issue_instant"],
        issuer=saml.Issuer(text=o["issuer"], format=NAMEID_FORMAT_ENTITY),
        subject=saml.Subject(
            name_id=saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=o["name_id"]),
            subject_confirmation=[saml.SubjectConfirmation(
                method=saml.SCM_BEARER,
                subject_confirmation_data=saml.SubjectConfirmationData(
                    in_response_to=o.get("in_response_to"),
                    recipient=o.get("recipient") or o["acs"],
                    not_on_or_after=instant(o.get("subject_not_on_or_after_offset_s", 300)),
                ),
            )],
        ),
        conditions=saml.Conditions(
            not_before=instant(o.get("not_before_offset_s", -60)),
            not_on_or_after=instant(o.get("not_on_or_after_offset_s", 300)),
            audience_restriction=audience,
        ),
        authn_statement=[saml.AuthnStatement(
            authn_instant=o["issue_instant"], session_index=o["id"],
            authn_context=saml.AuthnContext(
                authn_context_class_ref=saml.AuthnContextClassRef(text=PASSWORDPROTECTEDTRANSPORT)),
        )],
        attribute_statement=[saml.AttributeStatement(attribute=attributes)] if attributes else [],
    )


def mint(body):
    """POST /response: a Response built as `body` says, signed by pysaml2 (see the node peer for
    the fields: sign, key, issuer, audience_override, no_audience, destination, recipient,
    *_offset_s, in_response_to, assertion_id, tamper, wrap, algorithm)."""
    if not body.get("acs") or not body.get("audience"):
        raise ValueError("acs and audience are required")
    mode = body.get("sign", "both")
    key = body.get("key", "primary")
    if mode not in ("assertion", "response", "both", "none") or key not in KEYS:
        raise ValueError(f"bad sign {mode} or key {key}")
    name_id = body.get("name_id", "ann@acme.test")
    o = dict(body)
    o.update(
        id=body.get("assertion_id") or new_id(),
        issuer=body.get("issuer") or ENTITY_ID,
        issue_instant=instant(body.get("issue_instant_offset_s", 0)),
        name_id=name_id,
        attributes=body.get("attributes") or {"email": name_id},
    )
    assertion = assertion_for(o)
    response = samlp.Response(
        id=new_id(), version="2.0", issue_instant=o["issue_instant"],
        destination=body.get("destination") or body["acs"],
        in_response_to=body.get("in_response_to"),
        issuer=saml.Issuer(text=o["issuer"], format=NAMEID_FORMAT_ENTITY),
        status=samlp.Status(status_code=samlp.StatusCode(value=samlp.STATUS_SUCCESS)),
        assertion=[assertion],
    )
    sec = SERVERS[key].sec
    # "sha1": RSA-SHA1 with SHA-1 digests (pysaml2's own default), else RSA-SHA256.
    algs = (SIG_RSA_SHA1, DIGEST_SHA1) if body.get("algorithm") == "sha1" else (SIG_RSA_SHA256, DIGEST_SHA256)
    to_sign = []
    if mode in ("assertion", "both"):
        assertion.signature = pre_signature_part(
            assertion.id, sec.my_cert, sign_alg=algs[0], digest_alg=algs[1])
        to_sign.append((class_name(assertion), assertion.id))
    if mode in ("response", "both"):
        response.signature = pre_signature_part(
            response.id, sec.my_cert, sign_alg=algs[0], digest_alg=algs[1])
        to_sign.append((class_name(response), response.id))
    xml = response.to_string(nspair=NSPAIR).decode("utf-8")
    if to_sign:
        xml = signed_instance_factory(xml, sec, to_sign)
        xml = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    if body.get("tamper") == "name_id":
        # After signing: the digest no longer matches.
        xml = re.sub(r"(<saml:NameID[^>]*>)[^<]*", r"\g<1>evil@acme.test", xml, count=1)
    elif body.get("tamper"):
        raise ValueError(f"bad tamper {body['tamper']}")
    if body.get("wrap"):
        # XSW: an unsigned evil Assertion (own ID) becomes the Response's first Assertion.
        evil = dict(o, id=new_id(), name_id="evil@acme.test", attributes={"email": "evil@acme.test"})
        evil_xml = assertion_for(evil).to_string(nspair=NSPAIR).decode("utf-8")
        evil_xml = re.sub(r"^<\?xml[^>]*\?>", "", evil_xml)
        at = xml.index("<saml:Assertion")
        xml = xml[:at] + evil_xml + xml[at:]
    return {"saml_response": base64.b64encode(xml.encode("utf-8")).decode("ascii"), "xml": xml}


def decode(params):
    """The deflated AuthnRequest of an HTTP-Redirect binding."""
    raw = params.get("SAMLRequest", [None])[0]
    if not raw:
        raise ValueError("SAMLRequest missing")
    xml = zlib.decompress(base64.b64decode(raw), -15).decode("utf-8")
    root = ElementTree.fromstring(xml)
    if root.tag != f"{{{samlp.NAMESPACE}}}AuthnRequest":
        raise ValueError("not an AuthnRequest")
    issuer = root.find(f"{{{saml.NAMESPACE}}}Issuer")
    acs = root.get("AssertionConsumerServiceURL")
    if issuer is None or not acs:
        raise ValueError("AuthnRequest without AssertionConsumerServiceURL or Issuer")
    return {
        "id": root.get("ID"), "acs": acs, "issuer": issuer.text.strip(),
        "destination": root.get("Destination"),
        "relay_state": params.get("RelayState", [None])[0],
    }


def sso(params):
    """pysaml2's IdP answering our AuthnRequest: the SP known from its metadata (the entityID is
    its URL), the request parsed and checked by pysaml2, the response built and signed by it."""
    request = decode(params)
    with urllib.request.urlopen(request["issuer"], timeout=10) as res:
        sp_metadata = res.read().decode("utf-8")
    idp = Server(config=config("primary", sp_metadata))
    parsed = idp.parse_authn_request(params["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
    message = parsed.message
    attributes = {k: (v if isinstance(v, list) else [v]) for k, v in USER["attributes"].items()}
    response = idp.create_authn_response(
        identity=attributes,
        in_response_to=message.id,
        destination=message.assertion_consumer_service_url,
        sp_entity_id=message.issuer.text,
        name_id=saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=USER["name_id"]),
        authn={"class_ref": PASSWORDPROTECTEDTRANSPORT},
        sign_response=True,
        sign_assertion=True,
        # pysaml2 signs with RSA-SHA1 unless told (our SP refuses SHA-1: see the matrix).
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
    )
    print(f"pysaml2 idp: AuthnRequest {message.id} from {message.issuer.text} as {USER['name_id']}",
          file=sys.stderr)
    http_args = idp.apply_binding(
        BINDING_HTTP_POST, str(response), message.assertion_consumer_service_url,
        request["relay_state"], response=True)
    return http_args["data"]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        print("pysaml2 idp: " + fmt % args, file=sys.stderr)

    def answer(self, status, body, content_type="application/json"):
        data = (json.dumps(body) if content_type == "application/json" else body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        params = parse_qs(url.query)
        try:
            if url.path == "/metadata":
                self.answer(200, metadata(params.get("certs", ["primary"])[0]), "application/samlmetadata+xml")
            elif url.path == "/certs":
                self.answer(200, {"primary": KEYS["primary"]["pem"], "secondary": KEYS["secondary"]["pem"]})
            elif url.path == "/decode":
                self.answer(200, decode(params))
            elif url.path == "/sso":
                self.answer(200, sso(params), "text/html; charset=utf-8")
            else:
                self.answer(404, {"error": "not found"})
        except Exception as e:  # the test reads the reason
            print(f"pysaml2 idp: {e!r}", file=sys.stderr)
            self.answer(400, {"error": repr(e)})

    def do_POST(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        try:
            if url.path == "/response":
                self.answer(200, mint(body))
            elif url.path == "/user":
                USER.update(name_id=body["name_id"], attributes=body.get("attributes") or {"email": body["name_id"]})
                self.answer(200, USER)
            else:
                self.answer(404, {"error": "not found"})
        except Exception as e:
            print(f"pysaml2 idp: {e!r}", file=sys.stderr)
            self.answer(400, {"error": repr(e)})


def main():
    SERVER.RequestHandlerClass = Handler
    threading.Thread(target=SERVER.serve_forever, daemon=True).start()
    print(json.dumps({"url": URL, "entity_id": ENTITY_ID}), flush=True)
    sys.stdin.read()  # until the test closes stdin (or dies)
    SERVER.shutdown()


if __name__ == "__main__":
    main()
