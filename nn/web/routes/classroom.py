"""The classroom's own route: the class's link as a QR code, for the teacher's projector."""

from __future__ import annotations

from flask import Response

from nn.web.access import qr_svg
from nn.web.requests import HTTPError, Routes, current_access, teachers

classroom = Routes("classroom", __name__)


@classroom.get("/api/qr")
@teachers("the class's link")
def qr():
    link = current_access().class_link
    if link is None:
        raise HTTPError(404, "there is no class's link: start the page with draw.py --web --classroom")
    return Response(qr_svg(link), content_type="image/svg+xml")
