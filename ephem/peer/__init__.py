"""The Python peer: `EphemPeer` for programs, `python -m ephem.peer` for people."""

from ephem.peer.client import EphemError, EphemPeer
from ephem.peer.conversation import Message

__all__ = ["EphemError", "EphemPeer", "Message"]
