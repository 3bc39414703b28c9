"""Request and response bodies, one module per resource. Bounds and formats come from
the domain's field rules (`api.schemas.fields`), so the API refuses early exactly what
the write side would reject.

Unknown fields are rejected (422): a misspelt field would otherwise be dropped
silently, and on a PUT, which replaces every field, that would erase a value.
"""
