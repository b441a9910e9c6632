import socket

from didww_tools import phone
from didww_tools.sip_websocket import check_sip_websocket
from fake_didww import serve_websocket_once


def test_to_e164_formats():
    assert phone.to_e164("9179056077", "US") == "+19179056077"
    assert phone.to_e164("19179056077", "US") == "+19179056077"
    assert phone.to_e164("37041654321", "US") == "+37041654321"  # DIDWW digits of another country
    assert phone.to_e164("+370 416 54321") == "+37041654321"
    assert phone.to_e164("0037041654321") == "+37041654321"
    assert phone.to_e164("06 12 34 56 78", "FR") == "+33612345678"
    assert phone.to_e164("garbage", "US") is None
    assert phone.country_of("+37041654321") == "LT"


def test_sip_websocket_ok():
    port = serve_websocket_once("sip")
    ok, detail = check_sip_websocket(f"ws://127.0.0.1:{port}")
    assert ok, detail


def test_sip_websocket_without_sip_subprotocol():
    port = serve_websocket_once("plain")
    ok, detail = check_sip_websocket(f"ws://127.0.0.1:{port}")
    assert not ok and "sip" in detail


def test_sip_websocket_plain_http_server():
    port = serve_websocket_once("http")
    ok, detail = check_sip_websocket(f"ws://127.0.0.1:{port}")
    assert not ok and "200" in detail


def test_sip_websocket_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok, detail = check_sip_websocket(f"wss://127.0.0.1:{port}", timeout=1)
    assert not ok and "unreachable" in detail
