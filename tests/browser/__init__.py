"""Browser tests of the HTML reports (Playwright on Debian's chromium) and their helpers."""
