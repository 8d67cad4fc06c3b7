"""The checks other services make on every request: answered ahead of Flask, from caches."""
