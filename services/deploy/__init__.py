"""The deployment's description, read by the Pulumi program and the local stack alike."""
