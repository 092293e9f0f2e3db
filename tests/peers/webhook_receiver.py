"""A webhook receiver for the end-to-end tests, verifying every message with the Standard
Webhooks reference library (PyPI `standardwebhooks`).

Prints its port, then serves until stdin closes:
  POST /hook          a webhook: verified with the current secret (and the old one, while
                      set); answers the configured status when valid, 400 when not
  POST /_secret       {"secret": "whsec_..."} the secret to verify with
  POST /_status       {"status": 204} what valid messages are answered
  GET  /_received     [{"id", "type", "event_id", "verified", "signatures"}] in arrival order
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

state = {"secret": None, "status": 204, "received": []}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_received":
            with lock:
                body = json.dumps(state["received"]).encode()
            return self.reply(200, body)
        self.reply(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length).decode()
        if self.path == "/_secret":
            with lock:
                state["secret"] = json.loads(data)["secret"]
            return self.reply(204)
        if self.path == "/_status":
            with lock:
                state["status"] = int(json.loads(data)["status"])
            return self.reply(204)
        if self.path != "/hook":
            return self.reply(404)
        headers = {k: v for k, v in self.headers.items()}
        with lock:
            secret, status = state["secret"], state["status"]
        verified, payload = False, None
        try:
            payload = Webhook(secret).verify(data, headers)
            verified = True
        except (WebhookVerificationError, TypeError, ValueError):
            payload = json.loads(data) if data.startswith("{") else None
        with lock:
            state["received"].append(
                {
                    "id": self.headers.get("webhook-id"),
                    "type": (payload or {}).get("type"),
                    "event_id": ((payload or {}).get("data") or {}).get("id"),
                    "verified": verified,
                    "signatures": len((self.headers.get("webhook-signature") or "").split(" ")),
                    "answered": status if verified else 400,
                }
            )
        self.reply(status if verified else 400)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdin.read()
server.shutdown()
