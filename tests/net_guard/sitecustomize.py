"""No network but loopback, in every Python process the tests start.

``tests_support.subprocess_env()`` puts this folder first on ``PYTHONPATH``, so Python imports this
file at start-up (``site`` imports ``sitecustomize``) before any user code runs. The test process
itself installs the same guard from ``tests/conftest.py``. A refused address raises before the
real ``connect``/``getaddrinfo`` runs: no packet ever leaves for a non-loopback address.
"""

from __future__ import annotations

import ipaddress
import socket

BLOCKED = "network blocked in tests"


def is_loopback(host: object) -> bool:
    """True for ``localhost``, ``""`` (the local host) and loopback IPs (127.0.0.0/8, ::1)."""
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def install() -> None:
    """Patch ``socket`` so that non-loopback connects and name lookups raise (idempotent)."""
    if getattr(socket, "_visiona_net_guard", False):
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            raise ConnectionRefusedError(f"{BLOCKED}: {address}")

    def connect(self: socket.socket, address: object) -> None:
        refuse(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        refuse(self, address)
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: bytes, *args: object) -> int:
        refuse(self, args[-1])  # sendto(data, address) or sendto(data, flags, address)
        return real_sendto(self, data, *args)

    def lookup(real):  # getaddrinfo, gethostbyname, gethostbyname_ex
        def guarded(host: object, *args: object, **kwargs: object) -> object:
            if host is not None and not is_loopback(host):
                raise socket.gaierror(socket.EAI_NONAME, f"{BLOCKED}: name lookup of {host}")
            return real(host, *args, **kwargs)

        return guarded

    real_sendto = socket.socket.sendto
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo = lookup(socket.getaddrinfo)
    socket.gethostbyname = lookup(socket.gethostbyname)
    socket.gethostbyname_ex = lookup(socket.gethostbyname_ex)
    socket._visiona_net_guard = True


def run_shadowed_sitecustomize() -> None:
    """Run the ``sitecustomize`` this file hides (a distribution's own), if there is one."""
    import importlib.machinery
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


install()
if __name__ == "sitecustomize":  # started by site at interpreter start-up, not by conftest
    run_shadowed_sitecustomize()
