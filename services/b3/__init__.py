"""B3's public index endpoints: HTTP client, exact parsing, the portfolio checks, the calendar.

Nothing is imported here, so that importing one module (the Glue job imports only
:mod:`services.b3.calendar`) does not pull in the HTTP client and its dependencies.
"""
