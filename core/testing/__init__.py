"""Test helpers for core's and plugins' test suites (importable by external plugins too)."""
