"""Small programs with known call counts, traced by the API tests."""
