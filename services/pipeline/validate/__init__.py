"""The validate step: the raw object against the data contract."""
