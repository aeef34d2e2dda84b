"""Reports built over the corpus: the per-technique authoring guide, the PR review report."""
