"""What a use case refuses, with the one line an entry point shows (the command line prints
it, the web console puts it on the page)."""


class NotFound(LookupError):
    """What ops named does not exist."""


class Refused(ValueError):
    """The action does not apply to what ops named, as it stands."""
