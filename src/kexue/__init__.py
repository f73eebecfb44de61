"""kexue — library code for the 科学空间 interactive textbook.

Each chapter's ideas live in one module (``kexue.focal``, ``kexue.nce``, ``kexue.geometry`` …);
``import kexue`` itself stays light and imports none of them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
