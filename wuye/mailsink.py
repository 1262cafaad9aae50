"""A local SMTP server for development that keeps every message as a file.

The web app shows the folder to administrators (/dev/mail), so a developer
sees the escalation mail the system sent without any outside service.
"""

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger(__name__)


class MaildirHandler:
    """Writes each received message to `<folder>/<time>-<id>.eml`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content: Any = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else str(content).encode()
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.folder / f".{name}.tmp"
        temporary.write_bytes(data)
        # Rename so that a reader never sees half a message.
        temporary.rename(self.folder / name)
        logger.info("stored message %s for %d recipients", name, len(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def start_sink(folder: Path, host: str, port: int) -> Controller:
    """Start the sink in a background thread; stop it with `.stop()`."""
    controller = Controller(MaildirHandler(folder), hostname=host, port=port)
    controller.start()
    return controller


async def serve_forever(folder: Path, host: str, port: int) -> None:
    controller = start_sink(folder, host, port)
    logger.info("SMTP sink on %s:%d, writing to %s", host, port, folder)
    try:
        await asyncio.Event().wait()
    finally:
        controller.stop()
