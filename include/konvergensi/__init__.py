"""Konvergensi: the production path (extract, load, transform, gate, publish) of the warehouse."""
