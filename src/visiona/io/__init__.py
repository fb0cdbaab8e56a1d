"""Reading inputs: safe image decoding."""
