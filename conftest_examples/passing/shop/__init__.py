"""A small shop library: a catalog, stock levels, prices and orders."""
