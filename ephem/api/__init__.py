"""The REST API: `app` builds it, `deps` gives routes what they need, `routes/` one module per resource."""
