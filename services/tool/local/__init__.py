"""Running the pipeline on one machine: the AWS emulator and the B3 replay server."""
