{ kept = "a file named result* is read; only result links are skipped"; }
