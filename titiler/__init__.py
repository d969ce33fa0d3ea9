"""A TiTiler-compatible dynamic tile server for AWS Lambda."""

__version__ = "0.1.0"
