"""Read-only queries over the catalogue, one module per resource; both databases share them."""
