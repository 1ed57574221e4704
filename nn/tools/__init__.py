"""The other tools: python -m nn (command.py: predict a CSV, write a Kaggle submission, convert
IDX files, the benchmark) and train.py's pictures (plots.py)."""
