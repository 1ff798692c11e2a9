"""Vendors, members, contacts, teams and presence."""
