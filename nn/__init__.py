"""A handwritten-digit recognizer written from scratch with NumPy.

Modules, one concern each:
    data        CSV and IDX files in, arrays out
    activations g(Z) and g'(Z) for the hidden layers
    losses      softmax cross-entropy and mean squared error
    network     the multilayer perceptron: forward and backward passes
    optim       gradient descent, momentum, Adam; learning-rate schedules
    augment     random distortions of training digits (--augment)
    training    the training loop
    modelfile   saving and loading models (.npz weights + JSON metadata)
    plots       training curves, confusion matrix, predictions, weights
    predict     predicting CSV files (python -m nn predict)
    canvas      the 28x28 drawing grid and its brush
    preprocess  normalising drawings and image files the way MNIST was made
    reading     one drawing -> the network's guess (the window, the page and --predict share it)
    window      the pygame drawing window
    web         the drawing page's server and JSON API (draw.py --web; the page is in page/)
"""

from .machine import one_blas_thread_under_a_memory_limit

__version__ = "0.1.0"

one_blas_thread_under_a_memory_limit()  # must come before NumPy loads
