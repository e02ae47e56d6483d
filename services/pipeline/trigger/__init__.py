"""The S3-event trigger: an object dropped under ``inbox/`` starts one pipeline execution."""
