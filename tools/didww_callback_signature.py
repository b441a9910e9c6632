"""``X-DIDWW-Signature`` of DIDWW API v3 callbacks (plain Python, no ORM).

As DIDWW's SDKs compute it: lowercase hex HMAC-SHA1, keyed with the account's callback secret,
of the callback URL normalised (``scheme://[user[:pass]@]host:port/path[?query][#fragment]``,
the port always written, IPv6 hosts in brackets) followed by each payload key and value, keys
sorted, with no separators.
"""

import hashlib
import hmac
from urllib.parse import urlsplit


def normalise_url(url):
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    port = parts.port or (443 if scheme == "https" else 80)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = ""
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "") + "@"
    normalised = f"{scheme}://{userinfo}{host}:{port}{parts.path}"
    if parts.query:
        normalised += f"?{parts.query}"
    if parts.fragment:
        normalised += f"#{parts.fragment}"
    return normalised


def signature(secret, url, payload):
    """The signature DIDWW sends for ``payload`` (a dict of strings) delivered to ``url``."""
    message = normalise_url(url) + "".join(f"{key}{payload[key]}" for key in sorted(payload))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()


def is_valid(secret, url, payload, received):
    """Whether ``received`` (the header's value) is DIDWW's signature; constant-time compare."""
    if not secret or not received:
        return False
    return hmac.compare_digest(signature(secret, url, payload), received.strip().lower())
