"""What the reliability scripts share: a free port, and one HTTP call that never raises."""

import json
import socket
import urllib.error
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(base, method, path, token=None, body=None, headers=None, timeout=15):
    """(status, body, headers): the body parsed when it is JSON, else its bytes (a CSV report);
    status 0 when no answer came (refused, cut or timed out)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            if "json" not in r.headers.get("content-type", "json"):
                return r.status, raw, dict(r.headers)
            return r.status, json.loads(raw or b"null"), dict(r.headers)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw), dict(e.headers)
        except ValueError:
            return e.code, raw, dict(e.headers)
    except (OSError, ValueError):
        return 0, None, {}
