"""The user's tool: the bovespa CLI, the local stack, the analysis and the benchmark."""
