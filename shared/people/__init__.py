"""People: accounts that log in to the web UI with a password, and their sessions."""
