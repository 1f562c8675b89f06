"""One module per ``vae-study`` subcommand; each defines ``register(subparsers)``."""
