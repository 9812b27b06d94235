"""The solver pool fixtures live in tests/conftest.py (the any-hour tests solve too)."""
