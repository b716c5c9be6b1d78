#!/usr/bin/env python3
"""blackhole_proxy.py: a TCP proxy in front of a PostgreSQL Unix socket that stalls one COPY.

Listens on 127.0.0.1 (a free port, written to --port-file once it listens) and forwards every
connection to the server's Unix socket (--socket, e.g. DIR/.s.PGSQL.PORT), both ways, byte for
byte. It reads the client's side of the protocol as it passes (startup packets, then typed
messages) and, on the first connection whose client sends a simple Query starting with "COPY"
(or --match), forwards that query and at most --after more bytes in each direction, then forwards nothing
more, either way, while keeping both sockets open: what a partitioned network or a hung load
balancer does. Every other connection (pg_dump, pg_restore, the catalog and record queries,
cancel requests, the retried COPY) passes untouched. It exits by itself after --lifetime
seconds, so that it never outlives the test that started it.
"""

import argparse
import os
import select
import socket
import sys
import threading
import time

PROTOCOL_3 = 196608          # the startup packet's version; SSL, GSS and cancel requests differ
READ_BYTES = 65536

stall_lock = threading.Lock()
stall_taken = False          # guarded by stall_lock: only the first COPY connection stalls


def log(message):
    print("blackhole_proxy: %s" % message, file=sys.stderr, flush=True)


class ClientStream:
    """Frames the client's messages as they pass; feed() finds the end of a COPY query."""

    def __init__(self, match):
        self.match = match   # what the Query to stall starts with, upper case
        self.typed = False   # after the startup packet: type byte, then length
        self.head = b""
        self.body = None     # bytes of a message kept whole (a startup packet, a Query)
        self.body_len = 0
        self.kind = None
        self.skip = 0        # bytes of a message passed without looking

    def feed(self, data):
        """Returns the offset in data just past a Query starting with the match, or -1."""
        pos = 0
        while pos < len(data):
            if self.skip:
                n = min(self.skip, len(data) - pos)
                self.skip -= n
                pos += n
                continue
            if self.body is None:
                need = (5 if self.typed else 4) - len(self.head)
                self.head += data[pos:pos + need]
                pos += min(need, len(data) - pos)
                if len(self.head) < (5 if self.typed else 4):
                    break
                if self.typed:
                    self.kind = self.head[0]
                    length = int.from_bytes(self.head[1:5], "big") - 4
                else:
                    self.kind = None
                    length = int.from_bytes(self.head[0:4], "big") - 4
                self.head = b""
                if not self.typed or self.kind == ord("Q"):
                    self.body = b""
                    self.body_len = max(length, 0)
                else:
                    self.skip = max(length, 0)
                continue
            need = self.body_len - len(self.body)
            self.body += data[pos:pos + need]
            pos += min(need, len(data) - pos)
            if len(self.body) < self.body_len:
                break
            body, self.body = self.body, None
            if self.kind is None:
                if int.from_bytes(body[:4], "big") == PROTOCOL_3:
                    self.typed = True
            elif body.lstrip().upper().startswith(self.match):
                return pos
        return -1


def relay(client, server, number, after, match):
    global stall_taken
    stream = ClientStream(match)
    budget = None            # once stalling: bytes each way still to forward
    sent = {}
    peers = {client: server, server: client}
    try:
        while True:
            readable, _, _ = select.select([client, server], [], [])
            for sock in readable:
                data = sock.recv(READ_BYTES)
                if not data:
                    return
                if sock is client and budget is None:
                    end = stream.feed(data)
                    if end >= 0:
                        with stall_lock:
                            if not stall_taken:
                                stall_taken = True
                                budget = after
                                sent = {client: 0, server: 0}
                                log("connection %d sent a %s: stalling it after %d more bytes"
                                    % (number, match.decode(), after))
                                peers[sock].sendall(data[:end])
                                data = data[end:]
                if budget is not None:
                    data = data[:max(budget - sent[sock], 0)]
                    sent[sock] += len(data)
                if data:
                    peers[sock].sendall(data)
                if budget is not None and max(sent.values()) >= budget:
                    log("connection %d stalled: nothing forwarded either way from now on" % number)
                    # both sockets stay open and unread until the process exits
                    while True:
                        time.sleep(3600)
    except OSError:
        return
    finally:
        if budget is None or max(sent.values()) < budget:
            client.close()
            server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="the server's Unix socket")
    parser.add_argument("--port-file", required=True, help="where to write the port listened on")
    parser.add_argument("--after", type=int, default=0,
                        help="bytes forwarded each way after the COPY query before the stall")
    parser.add_argument("--match", default="COPY",
                        help="what the statement that starts the stall begins with (default COPY)")
    parser.add_argument("--lifetime", type=float, default=300.0, help="seconds before exiting")
    args = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.5)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.rename(tmp, args.port_file)

    end = time.monotonic() + args.lifetime
    number = 0
    while time.monotonic() < end:
        try:
            client, _ = listener.accept()
        except socket.timeout:
            continue
        number += 1
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.connect(args.socket)
        except OSError as e:
            log("connection %d: could not reach %s: %s" % (number, args.socket, e))
            client.close()
            continue
        threading.Thread(target=relay, args=(client, server, number, args.after, args.match.upper().encode()),
                         daemon=True).start()
    log("lifetime of %.0f s over: exiting" % args.lifetime)
    # the stalled connection's thread sleeps on: leave without waiting for it
    os._exit(0)


if __name__ == "__main__":
    main()
