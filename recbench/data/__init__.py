"""Data model: interactions, splits, readers and the download cache."""

from recbench.data.interactions import Interactions, Vocabulary
from recbench.data.split import Split, split_from_assignment

__all__ = ["Interactions", "Split", "Vocabulary", "split_from_assignment"]
