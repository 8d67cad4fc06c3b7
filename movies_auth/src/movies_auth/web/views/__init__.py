"""HTTP views, one blueprint per area; each view is a thin layer over the domain."""
