"""The Glue ETL job: raw portfolio to the refined layer (PySpark, AWS Glue 5.0)."""
