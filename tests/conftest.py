"""Fixtures shared by every test folder; the infrastructure ones live in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.infra",
    "tests.fixtures.auth",
    "tests.fixtures.services",
    "tests.fixtures.platform",
]
