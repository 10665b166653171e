"""A --scheduler address, checked before torch or Dask is imported.

Dask trusts the scheduler it connects to (it unpickles what the scheduler sends), so only
a cluster the user controls may be named (docs/faults.md). Before Dask is asked, the address
must be plain tcp://HOST:PORT and something there must answer the way a Dask scheduler
does, within seconds: Dask itself waits for ever on a listener that says nothing, and reads
an HTTP server's first bytes as a message length (a MemoryError of exabytes).
"""

from __future__ import annotations

from ..errors import SpecError

CLUSTER_HINT = '--scheduler needs dask.distributed: pip install "score-explorer[cluster]"'


def require_dask() -> None:
    """SpecError (CLUSTER_HINT) when dask.distributed is not installed; without importing it."""
    import importlib.util
    import sys
    if "distributed" in sys.modules:
        found = sys.modules["distributed"] is not None
    else:
        try:
            found = importlib.util.find_spec("distributed") is not None
        except (ImportError, ValueError):
            found = False
    if not found:
        raise SpecError("", CLUSTER_HINT)


def check_address(address: str) -> str:
    """`tcp://HOST:PORT` (or HOST:PORT), else a SpecError on --scheduler. Only plain TCP: tls://
    needs certificates this command has no options for, ucx:// a library it does not ship."""
    text = str(address).strip()
    hint = "give tcp://HOST:PORT of a Dask scheduler you trust, or leave --scheduler out to run locally"
    if not text:
        raise SpecError("--scheduler", f"is empty; {hint}")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme.lower() != "tcp":
        raise SpecError("--scheduler", f"{scheme}:// addresses are not supported; {hint}")
    host, colon, port = rest.rstrip("/").rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SpecError("--scheduler", f"expected tcp://HOST:PORT, got {text!r}")
    return f"tcp://{host}:{int(port)}"


PROBE_SECONDS = 3.0
HANDSHAKE_LIMIT = 1 << 20   # a Dask handshake is a few hundred bytes


def probe_scheduler(address: str, seconds: float | None = None) -> None:
    """Whether a Dask scheduler listens at `address`, within `seconds`, before Dask is asked:
    a scheduler sends its handshake first, a length-prefixed message of a few hundred bytes.
    Nothing listening, a listener that says nothing (Dask would wait for ever), or one that
    sends something else (an HTTP server: Dask would read its first bytes as a length and try
    to allocate exabytes) is a SpecError naming the address."""
    import socket
    import struct
    import time
    seconds = PROBE_SECONDS if seconds is None else seconds
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    host = host.strip("[]")
    deadline = time.monotonic() + seconds
    try:
        with socket.create_connection((host, int(port)), timeout=seconds) as sock:
            head = b""
            while len(head) < 8:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    raise SpecError("--scheduler", f"{address} closed the connection: not a Dask scheduler")
                head += chunk
    except socket.timeout:
        raise SpecError("--scheduler", f"no answer from {address} within {seconds:g} s: "
                                       "not a Dask scheduler, or an unreachable one") from None
    except OSError as e:
        raise SpecError("--scheduler", f"cannot reach {address}: {e.strerror or e}") from None
    (n,) = struct.unpack("<Q", head)
    if not 8 <= n <= HANDSHAKE_LIMIT:
        raise SpecError("--scheduler", f"{address} answered, but not as a Dask scheduler does")
