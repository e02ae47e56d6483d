"""Analysis: saved Athena queries, running them, and the HTML report with charts."""
