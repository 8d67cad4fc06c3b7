"""The service layer: what the views and the CLI do, free of HTTP and terminal concerns."""
