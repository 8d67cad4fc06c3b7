"""What the checks other services make on every request run on: the one rule, tokens verified once, cached keys."""
