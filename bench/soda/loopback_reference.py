#!/usr/bin/python3
"""A zero-work HTTP sender: the transport floor of bench/soda/http_bench.sh.

    loopback_reference.py PORT BYTES REQUESTS

Answers REQUESTS requests on 127.0.0.1:PORT, each with a 200 response of BYTES
bytes (Content-Length, zeros sent from one 4 MiB buffer with sendall, no
copy, no file read), then exits. curl's time for it is what loopback TCP and
the client cost on this machine, whatever the server does.
"""
import socket
import sys

port, size, requests = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
buf = memoryview(b"\0" * (4 << 20))
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(8)
print("ready", flush=True)
for _ in range(requests):
    conn, _ = server.accept()
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size)
    left = size
    while left:
        k = min(left, len(buf))
        conn.sendall(buf[:k])
        left -= k
    conn.close()
