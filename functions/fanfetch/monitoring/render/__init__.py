"""Templates that lay out views, and nothing else."""
