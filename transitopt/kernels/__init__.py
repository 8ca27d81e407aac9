"""numba kernels over plain numpy arrays.

Nothing here imports pandas, networkx, osmnx or other transitopt sub-packages; the
public, validated entry points live in :mod:`transitopt.paths` and friends.
"""
