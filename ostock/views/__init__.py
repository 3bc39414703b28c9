"""Read models in Redis: the key layout (one place) and the stores over it."""
