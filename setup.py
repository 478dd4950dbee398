"""The optional C extension (the rest of the metadata is in pyproject.toml).

``optional=True``: without a compiler the install still succeeds and cleaner
runs its pure-Python path, with the same output.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("cleaner._speedups", ["cleaner/_speedups.c"], optional=True)])
