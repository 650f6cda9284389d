"""The pages' paths: one place, for links, redirects and `add_page`."""

HOME = "/"
ENCLAVE = "/enclave/[room]"
JOIN = "/join/[code]"


def enclave_path(enclave_id: str) -> str:
    return f"/enclave/{enclave_id}"


def join_path(code: str) -> str:
    return f"/join/{code}"
