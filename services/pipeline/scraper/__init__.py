"""The scraper: B3 portfolio of the day to the raw layer (CLI and Lambda)."""
