import base64
import hashlib
import socket
import threading

from didww_tools import phone
from didww_tools.sip_websocket import WS_GUID, check_sip_websocket


def test_to_e164_formats():
    assert phone.to_e164("9179056077", "US") == "+19179056077"
    assert phone.to_e164("19179056077", "US") == "+19179056077"
    assert phone.to_e164("37041654321", "US") == "+37041654321"  # DIDWW digits of another country
    assert phone.to_e164("+370 416 54321") == "+37041654321"
    assert phone.to_e164("0037041654321") == "+37041654321"
    assert phone.to_e164("06 12 34 56 78", "FR") == "+33612345678"
    assert phone.to_e164("garbage", "US") is None
    assert phone.country_of("+37041654321") == "LT"


def serve_once(answer_builder):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def run():
        connection, _ = server.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(4096)
        connection.sendall(answer_builder(data.decode()))
        connection.close()
        server.close()

    threading.Thread(target=run, daemon=True).start()
    return server.getsockname()[1]


def accept_header(request):
    key = next(line.split(":", 1)[1].strip() for line in request.split("\r\n")
               if line.lower().startswith("sec-websocket-key"))
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def test_sip_websocket_ok():
    port = serve_once(lambda req: (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_header(req)}\r\nSec-WebSocket-Protocol: sip\r\n\r\n").encode())
    ok, detail = check_sip_websocket(f"ws://127.0.0.1:{port}")
    assert ok, detail


def test_sip_websocket_without_sip_subprotocol():
    port = serve_once(lambda req: (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_header(req)}\r\n\r\n").encode())
    ok, detail = check_sip_websocket(f"ws://127.0.0.1:{port}")
    assert not ok and "sip" in detail


def test_sip_websocket_plain_http_server():
    port = serve_once(lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    ok, detail = check_sip_websocket(f"ws://127.0.0.1:{port}")
    assert not ok and "200" in detail


def test_sip_websocket_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok, detail = check_sip_websocket(f"wss://127.0.0.1:{port}", timeout=1)
    assert not ok and "unreachable" in detail
