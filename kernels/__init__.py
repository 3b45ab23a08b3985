"""Triton kernels of uniscale, shipped in the wheel as ``uniscale.kernels``.

One kernel family per module: :mod:`uniscale.kernels.vote` (majority and weighted vote),
:mod:`uniscale.kernels.best_of_n` and :mod:`uniscale.kernels.prm_reduce`. Each module imports
torch and triton when it is imported itself, so nothing here is loaded by ``import uniscale``; the
dispatch layer in :mod:`uniscale.aggregate` imports a module the first time its backend runs.
"""

from __future__ import annotations
