"""Files in and out: digits CSVs (digits_csv.py), MNIST's IDX files (idx.py), model files
(model_file.py) and pictures of digits (images.py). Arrays out, for the math; files in, from the
user; nothing here knows of the window or the page."""
