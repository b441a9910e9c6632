"""Check that a SIP-over-WebSocket server (RFC 7118) answers its handshake (plain Python)."""

import base64
import hashlib
import os
import socket
import ssl
from urllib.parse import urlsplit

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def check_sip_websocket(url, timeout=5.0, ssl_context=None):
    """Open a WebSocket with the ``sip`` subprotocol and close it.

    :return: ``(ok, detail)``; ``detail`` says what answered or why it failed.
    """
    parts = urlsplit(url or "")
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return False, f"{url!r} is not a ws:// or wss:// URL"
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    key = base64.b64encode(os.urandom(16)).decode()
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host_header}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: sip\r\nUser-Agent: didww_connector\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout) as raw:
            sock = raw
            if parts.scheme == "wss":
                context = ssl_context or ssl.create_default_context()
                sock = context.wrap_socket(raw, server_hostname=parts.hostname)
            sock.sendall(request)
            answer = b""
            while b"\r\n\r\n" not in answer and len(answer) < 16384:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
    except ssl.SSLError as exc:
        return False, f"TLS failed with {parts.hostname}:{port}: {exc.reason or exc}"
    except TimeoutError:
        return False, f"{parts.hostname}:{port} did not answer within {timeout:g} s"
    except OSError as exc:
        return False, f"{parts.hostname}:{port} is unreachable: {exc.strerror or exc}"
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    status = lines[0] if lines else ""
    headers = {}
    for line in lines[1:]:
        name, _sep, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if not status.startswith("HTTP/1.1 101"):
        return False, f"the server answered {status or 'nothing'} instead of a WebSocket upgrade"
    expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    if headers.get("sec-websocket-accept") != expected:
        return False, "the server's WebSocket handshake is invalid (Sec-WebSocket-Accept)"
    if headers.get("sec-websocket-protocol", "").lower() != "sip":
        return False, "the server accepted the WebSocket but not the 'sip' subprotocol"
    return True, f"{parts.hostname}:{port} accepted a SIP WebSocket"
