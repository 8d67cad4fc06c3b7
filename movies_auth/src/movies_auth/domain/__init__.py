"""What the service does: accounts, sessions, tokens, grants, signing keys; free of HTTP and terminal concerns."""
