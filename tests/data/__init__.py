"""Tests of tether.data: datasets, status, diff, checkout, pointers."""
