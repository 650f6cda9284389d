"""The pages' paths and titles: one place, for links, redirects and `add_page`."""

from ephem.i18n import N_

HOME = "/"
ENCLAVE = "/enclave/[room]"
JOIN = "/join/[code]"

# In English: the browser says them in the page's language (assets/ephem/page_title.js).
HOME_TITLE = str(N_("ephem · anonymous chat"))
ENCLAVE_TITLE = str(N_("ephem · enclave"))
JOIN_TITLE = str(N_("ephem · invite"))


def enclave_path(enclave_id: str) -> str:
    return f"/enclave/{enclave_id}"


def join_path(code: str) -> str:
    return f"/join/{code}"
