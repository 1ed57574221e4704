"""The application's core, which knows no window and no page: the model in use, reading a drawing,
saving drawings, teaching, training on a thread, and the commands the two views offer
(session.py holds them together; commands.py lists them)."""
