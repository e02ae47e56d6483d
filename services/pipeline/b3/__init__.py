"""B3's endpoints: HTTP client (``client``), exact parsing and checks (``portfolio``,
``numbers``), errors, the index registry and B3's trading calendar (``calendar``).

Import the modules themselves. This package imports nothing on its own, so that the Glue
job can use :mod:`services.pipeline.b3.calendar` without the HTTP client's dependencies (requests,
tenacity), which its import check would refuse (``tests/unit/test_glue_imports.py``).
"""
