"""Test support shared by every test folder of the workspace; not shipped in any wheel."""
