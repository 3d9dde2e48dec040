"""The one exception for a user's mistake.

Library code raises `InputError` for bad files, rows and settings with a
message that names the file, line or field; the CLI prints it and exits 2.
Anything else escaping to the CLI is a bug in cfx and keeps its traceback.
"""


class InputError(Exception):
    """Bad user input: a file, a CSV row, a scenario field or a flag."""
