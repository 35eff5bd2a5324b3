"""Helpers shared by the test modules: builders, clients, assertions, constants.

Test modules and conftest.py files import helpers from here only; a test module never imports another
test module or a conftest.py (tests/unit/test_suite_rules.py checks it), and conftest.py files hold
fixtures only. Helpers here never import test modules either.
"""
