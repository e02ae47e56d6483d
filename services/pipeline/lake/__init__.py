"""The data lake: one storage interface (a directory or S3) and the layers' layouts."""
