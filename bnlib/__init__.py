"""bnlib: the NumPy library behind the batch normalization course."""
__version__ = "0.1.0"
