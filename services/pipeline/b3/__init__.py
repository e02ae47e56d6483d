"""B3's endpoints. Import the modules themselves: the package imports nothing, so the Glue
job can use :mod:`calendar` without the HTTP client's dependencies."""
