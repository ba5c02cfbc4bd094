"""Statement files (CAMT.053/052/054, MT940, OFX, bank CSV) imported into a manual account."""
