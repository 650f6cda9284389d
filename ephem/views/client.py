"""The bridge to `assets/ephem_client.js`: props go down, one event comes up."""

import reflex as rx


class EphemClient(rx.Component):
    library = "$/public/ephem_client.js"
    tag = "EphemClient"

    token: rx.Var[str]
    enclave_id: rx.Var[str]
    command: rx.Var[dict]

    on_event: rx.EventHandler[lambda kind, data: [kind, data]]


ephem_client = EphemClient.create
