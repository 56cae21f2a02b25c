"""Protection toolkit: masking operators, national cryptography, key stores, anonymity."""
