"""Conference controller: Plivo-style conferences on your own FreeSWITCH."""

__version__ = "0.1.0"
