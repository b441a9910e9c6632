"""Can a server on the internet (DIDWW) reach a URL? Plain Python, no Odoo."""

import ipaddress
from urllib.parse import urlsplit


def unreachable_reason(url):
    """Why DIDWW could not reach ``url``, or ``None``; reasons, most serious first:

    * ``"missing"``: no URL, or no host in it;
    * ``"local"``: this machine (``localhost``, a loopback address);
    * ``"private"``: a private, link-local or reserved address, or a host name with no dot or
      ending in ``.local`` / ``.internal`` / ``.lan`` / ``.localhost`` (names only a local network resolves);
    * ``"http"``: plain HTTP (DIDWW checks HTTPS certificates; the text and the secret travel in clear).
    """
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return "missing"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if address.is_loopback or address.is_unspecified:
            return "local"
        if not address.is_global:
            return "private"
    elif host == "localhost" or host.endswith(".localhost"):
        return "local"
    elif "." not in host or host.rsplit(".", 1)[1] in ("local", "internal", "lan", "home", "localdomain"):
        return "private"
    if parts.scheme != "https":
        return "http"
    return None
