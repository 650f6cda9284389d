"""What clients may send on `/ephem`, checked by pydantic before any handler sees it."""

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ephem.enclaves import ENCLAVE_ID
from ephem.i18n import N_
from ephem.interests import normalize
from ephem.pow import ProofIn

ID = Field(min_length=1, max_length=64)
BASE64 = r"^[A-Za-z0-9+/]*={0,2}$"
# A relay frame: a sealed envelope (at most 4,000 characters, escaped) in
# base64, with room to spare, and well under the payload cap.
MAX_RELAY_CHARS = 49152
PUBLIC_KEY_CHARS = 88  # an uncompressed P-256 point in base64


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchIn(BaseModel):
    """`interests`: matched first with someone sharing one (see `ephem.interests`);
    `pow`: a solved challenge, once the account searches too often (`proof_required`)."""

    model_config = ConfigDict(extra="forbid")
    interests: tuple[str, ...] = ()
    pow: ProofIn | None = None

    @field_validator("interests", mode="before")
    @classmethod
    def _tags(cls, value):
        return normalize(value)


class HelloIn(BaseModel):
    """`stats: true`: this connection shows the `stats` (the home page), pushed to it while in no enclave;
    `lang`: the language its answers are said in."""

    model_config = ConfigDict(extra="forbid")
    stats: bool = False
    # The connection's language from now on (an addition to the contract): a
    # tag, an Accept-Language value or a list of tags (ephem.signaling.language).
    lang: Annotated[str, Field(max_length=256)] | Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=16)] | None = None


class EnclaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enclave_id: str = Field(pattern=ENCLAVE_ID)


class SessionDescription(BaseModel):
    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: str = ""


class SignalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    enclave_id: str = Field(pattern=ENCLAVE_ID)
    to: str = ID
    kind: Literal["offer", "answer", "candidate", "key"]
    data: dict[str, Any] | None

    @model_validator(mode="after")
    def _data_fits_kind(self) -> "SignalIn":
        if self.kind == "key":
            RelayKey.model_validate(self.data)
        elif self.kind == "candidate":
            if self.data is not None and not isinstance(self.data.get("candidate", ""), str):
                raise ValueError("a candidate's data is an RTCIceCandidateInit or null")
        else:
            if self.data is None:
                raise ValueError(f"an {self.kind} carries {{type, sdp}}")
            SessionDescription.model_validate(self.data)
        return self


class RelayKey(BaseModel):
    """A member's relay public key, sent peer to peer as `signal` kind `key`."""

    model_config = ConfigDict(extra="forbid")
    public_key: str = Field(min_length=PUBLIC_KEY_CHARS, max_length=PUBLIC_KEY_CHARS, pattern=BASE64)


class RelayIn(BaseModel):
    """A sealed frame for one peer: opaque to the server, which only measures it."""

    model_config = ConfigDict(extra="forbid")
    enclave_id: str = Field(pattern=ENCLAVE_ID)
    to: str = ID
    data: str = Field(min_length=1, pattern=BASE64)  # its length is checked by the handler: payload_too_large


class NotUnicode(ValueError):
    """Text with a lone surrogate ("\\ud800" in JSON): valid JSON, but not text
    any peer could take; it used to be measured as infinitely large."""


def size_of(payload: Any) -> float:
    """Bytes as JSON; anything that is not JSON (binary attachments) counts as
    too large, and text that is not Unicode raises NotUnicode."""
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return float("inf")
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        raise NotUnicode(N_("text must be valid Unicode (it has a lone surrogate such as \\ud800)")) from None
