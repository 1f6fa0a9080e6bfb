"""Test helpers shared by several test suites (real servers on loopback, never mocks)."""
