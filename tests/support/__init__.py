"""Helpers the tests share: real daemons, receivers and traffic drivers."""
