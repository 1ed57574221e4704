"""The pygame window (python draw.py): a view of the session (nn/session), which turns events
into its commands and draws its state."""
