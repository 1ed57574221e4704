"""The web page (python draw.py --web): routes on Flask, served by waitress, each a small function
that turns a request into one of the session's commands (nn/session) and its answer into JSON;
the page's files in page/."""
