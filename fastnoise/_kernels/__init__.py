"""Numba kernels. Private: they take arrays and scalars, write into caller-allocated outputs, and
never validate, log or touch pandas/pyarrow/click. Imports: numpy, numba, ``fastnoise._jit``."""
