"""Domain errors carry the contract's machine-readable code and a human message."""


class EphemError(Exception):
    code = "error"
    status = 400
    details: dict = {}  # extra fields of the error shape

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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
