"""The platform's own library: what every service needs, written once."""
