"""A local authoritative DNS server for the domain-verification tests (dnslib).

Usage: python3 dns_server.py <records.json>
Serves UDP and TCP on 127.0.0.1 at a free port and prints that port on the first line of stdout.
Answers TXT queries from <records.json> ({"name.": ["value", ...]}, re-read on every query, so
the test can publish a record while the server runs); NXDOMAIN for other names. Runs until its
stdin closes.
"""

import json
import socket
import sys

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class FileResolver(BaseResolver):
    def __init__(self, path):
        self.path = path

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).lower()
        try:
            with open(self.path, encoding="utf-8") as f:
                records = {k.lower(): v for k, v in json.load(f).items()}
        except (OSError, ValueError):
            records = {}
        values = records.get(qname)
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
            for value in values:
                reply.add_answer(RR(qname, QTYPE.TXT, rdata=TXT(value), ttl=1))
        return reply


def free_port():
    # A port free for both UDP and TCP.
    while True:
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            tcp.close()
            continue
        tcp.close()
        udp.close()
        return port


def main():
    if len(sys.argv) != 2:
        print("usage: dns_server.py <records.json>", file=sys.stderr)
        sys.exit(2)
    resolver = FileResolver(sys.argv[1])
    port = free_port()
    logger = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
    udp = DNSServer(resolver, port=port, address="127.0.0.1", logger=logger)
    tcp = DNSServer(resolver, port=port, address="127.0.0.1", tcp=True, logger=logger)
    udp.start_thread()
    tcp.start_thread()
    print(port, flush=True)
    sys.stdin.read()
    udp.stop()
    tcp.stop()


if __name__ == "__main__":
    main()
