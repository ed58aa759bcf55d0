"""The command-line subcommands other than `serve`: ask and doctor."""
