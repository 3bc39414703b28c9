"""Process managers: decisions that turn events of one service into commands of another."""
