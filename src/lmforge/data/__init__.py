"""Data in: readers with row-numbered errors, labelled texts, cleaning, deduplication, splitting, batching."""
