"""The one exception type for bad user input (a wrong file, an unknown name, an invalid
setting). Its message is a single line that names the problem and the fix; the command line
prints it as ``vae-study: error: ...`` and exits with status 2."""


class UserError(ValueError):
    """Invalid input from the user; the message says what is wrong and how to fix it."""
