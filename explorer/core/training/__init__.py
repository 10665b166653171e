"""Training: the step-by-step trainer and its recipe, the child process it runs in, thread and device policy, the loss history, the model file."""
