"""Ways out of exceptions (issue 12): what approving a short pick or a stock shortage leads to, the
retry of held orders when stock arrives, and resolving many exceptions at once."""
