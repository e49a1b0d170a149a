"""The rostered people behind sign-ins: who a signed-in person is in the roster, and their classes."""
