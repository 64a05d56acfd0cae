"""Events the registry consumes. None yet: the registry is the source of children."""

HANDLERS: dict = {}
