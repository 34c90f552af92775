"""Is the Hugging Face Hub reachable? Answer in seconds, not after half a minute of library retries."""
from __future__ import annotations

import os
import re
import socket
import time
from urllib.parse import urlparse

# "name" or "owner/name" of letters, digits, '-', '_' and '.': never a path, never a URL
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?$")
_CHECKED: dict[str, tuple[float, bool]] = {}  # host -> (when, unreachable)
RECHECK_S = 30.0


def is_hub_id(text: str) -> bool:
    """A well-formed Hub repository id (which also rules out paths like '../../etc')."""
    return bool(_HUB_ID.match(text)) and ".." not in text


def hub_unreachable(timeout: float = 3.0) -> bool:
    """True when a direct connection to the Hub fails.

    False in offline mode (the libraries then answer from their local cache at once) and behind a
    proxy (a direct connection says nothing there).
    """
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or any(
        os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
    ):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    when, unreachable = _CHECKED.get(host, (0.0, False))
    if time.monotonic() - when > RECHECK_S:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            unreachable = False
        except OSError:
            unreachable = True
        _CHECKED[host] = (time.monotonic(), unreachable)
    return unreachable
