"""The Pulumi program (Python) that deploys the pipeline to AWS; see ``program.py``."""
