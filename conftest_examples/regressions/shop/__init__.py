"""A shop back end with two performance regressions that its tests still
pass functionally; only the call-flow gate catches them."""
