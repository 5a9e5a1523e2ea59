"""The Train tab's upload: a visitor's zip of images, checked and rewritten by dcgan.upload into
their session folder, where Train (the dataset live.UPLOAD) finds it and from where it goes
when the session does (events.end_session and the sweep remove the whole folder).

Gradio writes the uploaded file into its own cache before any event runs; the event deletes
that copy as soon as it has read it, whatever came of it, so the visitor's file does not wait
there for the cache's half-hour sweep (app.py's DELETE_CACHE).
"""

from __future__ import annotations

import gradio as gr
from checks import uploaded
from events import session_dir

from dcgan import live, upload
from dcgan.data import DataError
from dcgan.i18n import _, number


def upload_images(file, request: gr.Request = None):
    """Prepare the zip a visitor sent: a summary, the Dataset set to their images, the box
    emptied; a bad zip is one gr.Error that says what is wrong and what to send."""
    path, name = uploaded(file, "Your images")
    try:
        summary = upload.prepare_upload(path, session_dir(request), name=name)
    except DataError as e:
        raise gr.Error(str(e)) from e
    finally:
        path.unlink(missing_ok=True)
    skipped = (
        _(", {n} skipped ({reasons})").format(n=summary.skipped, reasons=summary.reasons_text())
        if summary.skipped
        else ""
    )
    text = _(
        "**{count} images ready** from `{name}`{skipped}. Press **Train** to train on them "
        "(shrunk to {size}×{size}); they are deleted when you close this page."
    ).format(count=number(summary.count), name=name, skipped=skipped, size=upload.SIZE)
    return text, gr.Radio(value=live.UPLOAD), gr.File(value=None)
