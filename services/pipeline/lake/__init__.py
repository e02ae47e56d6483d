"""The data lake: one storage interface (local directory or S3) and the layers' layouts."""

from services.pipeline.lake.storage import Lake, LocalLake, S3Lake, open_lake

__all__ = ["Lake", "LocalLake", "S3Lake", "open_lake"]
