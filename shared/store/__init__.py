"""The thin Firestore layer: each module owns one collection's reads and writes."""
