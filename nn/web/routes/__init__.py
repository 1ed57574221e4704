"""The page's routes, one blueprint per area: drawing, photos, learning, jobs (training and
teaching), classroom. Each route is a small function: read the request (nn/web/requests.py), ask the
session, answer (nn/web/answers.py)."""
