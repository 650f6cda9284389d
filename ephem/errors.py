"""Domain errors carry the contract's machine-readable code and a human message.

The message is made with `ephem.i18n.N_`: `text` can be said in the client's
language where a web layer answers (`ephem.i18n.translate`), `message` is
the English, a plain `str` for logs and the Reflex state."""


class EphemError(Exception):
    code = "error"
    status = 400
    details: dict = {}  # extra fields of the error shape

    def __init__(self, message: str):
        super().__init__(message)
        self.text = message
        self.message = str(message)


class InvalidName(EphemError):
    code = "invalid_name"
    status = 422


class InvalidToken(EphemError):
    code = "invalid_token"
    status = 401


class NotFound(EphemError):
    code = "not_found"
    status = 404


class EnclaveFull(EphemError):
    code = "enclave_full"
    status = 409


class Invalid(EphemError):
    code = "invalid_payload"
    status = 422


class Forbidden(EphemError):
    code = "forbidden"
    status = 403


class Banned(InvalidToken):
    """A banned account's tokens work nowhere; caught like any dead token."""

    code = "banned"
    status = 403


class TooMany(EphemError):
    code = "too_many"
    status = 409
