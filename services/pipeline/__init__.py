"""What runs on AWS: the three Lambda functions and the library they and the Glue job share."""
