"""The STUN/TURN servers both ends of a peer connection use (docs/deploy.md, "NAT").

The server's aiortc and the learner's browser each gather candidates through them; a
learner behind a firewall that drops UDP reaches the host only through TURN, so the page
asks for the same list (with the TURN user and password) before it makes its offer.
"""

from __future__ import annotations

from pipecat.transports.smallwebrtc.connection import IceServer

from agent.config import Settings


def is_turn(url: str) -> bool:
    return url.startswith(("turn:", "turns:"))


def browser_ice_servers(settings: Settings) -> list[dict[str, str]]:
    """RTCIceServer dictionaries: credentials only on TURN URLs (STUN takes none)."""
    server = settings.server
    found = []
    for url in server.ice_servers:
        entry = {"urls": url}
        if is_turn(url) and server.ice_username and server.ice_credential:
            entry |= {"username": server.ice_username, "credential": server.ice_credential}
        found.append(entry)
    return found


def ice_servers(settings: Settings) -> list[IceServer]:
    """The same servers for aiortc."""
    return [IceServer(**entry) for entry in browser_ice_servers(settings)]
