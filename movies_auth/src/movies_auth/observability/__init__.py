"""The request id and the access log, and the logs, metrics and traces stamped with it."""
