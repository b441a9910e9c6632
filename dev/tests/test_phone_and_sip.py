import socket

from didww_tools import phone, sms_keywords
from didww_tools.sip_websocket import check_sip_websocket
from fake_didww import serve_websocket_once


def test_wire_format():
    assert phone.from_wire("37041654321") == "+37041654321"
    assert phone.from_wire("0037041654321") == "+37041654321"
    assert phone.from_wire("06 12 34 56 78") is None  # national: only Odoo's formatter knows the country
    assert phone.from_wire("+37041654321") is None
    assert phone.from_wire("garbage") is None
    assert phone.digits("+37041654321") == "37041654321"
    assert phone.country_of("+37041654321") == "LT"
    assert phone.loose("00 370 (41) 654-321") == "+37041654321"


def test_keywords_whole_message_only():
    assert sms_keywords.match(" stop! ", sms_keywords.OPT_OUT_DEFAULT, sms_keywords.OPT_IN_DEFAULT) == "out"
    assert sms_keywords.match("Unsubscribe.", sms_keywords.OPT_OUT_DEFAULT, sms_keywords.OPT_IN_DEFAULT) == "out"
    assert sms_keywords.match("yes", sms_keywords.OPT_OUT_DEFAULT, sms_keywords.OPT_IN_DEFAULT) == "in"
    assert sms_keywords.match("Please don't stop", sms_keywords.OPT_OUT_DEFAULT,
                              sms_keywords.OPT_IN_DEFAULT) is None
    assert sms_keywords.match("", sms_keywords.OPT_OUT_DEFAULT, sms_keywords.OPT_IN_DEFAULT) is None
    assert sms_keywords.match("arret", "STOP; Arrêt\nARRET", "") == "out"
    assert sms_keywords.parse_keywords(" stop , ,quit;") == {"STOP", "QUIT"}


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
