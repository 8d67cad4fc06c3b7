"""Filling the catalogue: sources that yield film records, and the writer that stores them."""
