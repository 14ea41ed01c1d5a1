"""thumbs: renders thumbnails in worker processes."""
