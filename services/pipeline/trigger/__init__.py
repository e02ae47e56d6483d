"""The S3-event trigger: a raw object dropped in the bucket starts one pipeline execution."""
