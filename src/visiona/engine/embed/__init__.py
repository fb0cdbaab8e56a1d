"""Work on embeddings: the on-disk cache, vector files, similarity indexes and 2-D maps."""
