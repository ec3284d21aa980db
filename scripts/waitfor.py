#!/usr/bin/env python3
"""Small process/port helpers for scripts/demo.sh (Python 3 standard library only).

  waitfor.py free-ports N                     print N distinct free loopback TCP ports
  waitfor.py http URL TIMEOUT [PID]           wait until URL answers HTTP 2xx
  waitfor.py tcp HOST PORT TIMEOUT [PID]      wait until HOST:PORT accepts connections
  waitfor.py descendants PID                  print the PIDs of PID's process tree (children first)
  waitfor.py post URL                         HTTP POST with an empty body (e.g. moto's /moto-api/reset)

The waits poll every 0.1 s, give up after TIMEOUT seconds (exit 1), and stop early
(exit 2) when PID, the process expected to serve, has exited.
"""

import os
import socket
import sys
import time
import urllib.error
import urllib.request


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def alive(pid):
    """True while pid runs (a zombie, exited but not yet reaped, counts as dead)."""
    if pid is None:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False


def wait(check, timeout, pid):
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return 0
        if not alive(pid):
            return 2
        if time.monotonic() >= deadline:
            return 1
        time.sleep(0.1)


def http_ok(url):
    def check():
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return 200 <= r.status < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    return check


def tcp_open(host, port):
    def check():
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            return False

    return check


def descendants(root):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out = []

    def walk(pid):
        for child in children.get(pid, []):
            walk(child)
            out.append(child)

    walk(root)
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 64
    cmd, args = argv[1], argv[2:]
    if cmd == "free-ports":
        print(" ".join(str(p) for p in free_ports(int(args[0]))))
        return 0
    if cmd == "http":
        pid = int(args[2]) if len(args) > 2 else None
        return wait(http_ok(args[0]), float(args[1]), pid)
    if cmd == "tcp":
        pid = int(args[3]) if len(args) > 3 else None
        return wait(tcp_open(args[0], int(args[1])), float(args[2]), pid)
    if cmd == "post":
        req = urllib.request.Request(args[0], data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return 0 if 200 <= r.status < 300 else 1
    if cmd == "descendants":
        print(" ".join(str(p) for p in descendants(int(args[0]))))
        return 0
    print(f"unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
