"""The pipeline's Python code: B3 client, lake storage, Lambda handlers and the local stack."""
