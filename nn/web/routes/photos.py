"""A photo of a number on paper: the page's Photo button (a phone's camera, a laptop's files)."""

from __future__ import annotations

from nn.web.answers import photo_answer
from nn.web.requests import Routes, current_access, current_session, device, read_picture

photos = Routes("photos", __name__)


@photos.post("/api/photo")
def photo():
    """The photo (the body itself, Content-Type image/...) read: the number, each digit with its
    box in the photo's pixels and its probabilities, and every step from the photo to the digits.
    The class may too: a device has PHOTOS_IN_A_ROW at once, then one every PHOTO_EVERY seconds."""
    data = read_picture()
    with current_access().turn(device(), "photo"):  # given back if the photo holds no number
        reading = current_session().read_photo(data, "the photo")
    return photo_answer(current_session().model.name, reading)
