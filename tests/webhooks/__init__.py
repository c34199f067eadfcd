"""Tests of the signed webhook sender (real local HTTP receiver)."""
