"""Byte Clips' own package: the pure domain core and the thin Firestore layer around it."""
