"""A small shop with an event registry and async notifications."""
