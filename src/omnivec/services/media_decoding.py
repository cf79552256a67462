"""Media parts of an embed request, turned into what the target model takes.

Which form a part takes depends on the model's modalities:

- image, audio, video: decoded (``omnivec.media``) for a model that takes that modality;
  otherwise a 400 that names a served model that does, or how to serve one.
- PDF: for a model that takes documents, one ``DecodedDocument`` (page text, plus page images
  when it takes images); for a model that takes images but not documents, each page's text
  followed by its image; for a text-only model, the pages' text as text parts.
- video: its audio track is decoded too when the model takes audio.

Decoding is CPU work: it runs on worker threads, at most ``decode_concurrency`` at a time so
memory stays bounded however many requests arrive together. PDFs are parsed in memory- and
time-limited worker processes (``omnivec.media.pdf_workers``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from omnivec.errors import InvalidArgument
from omnivec.media.audio import decode_audio
from omnivec.media.image import decode_image
from omnivec.media.limits import MediaTally
from omnivec.media.pdf import MAX_PAGE_CHARS
from omnivec.media.pdf_workers import PdfWorkers
from omnivec.media.sniff import MediaType, identify
from omnivec.media.types import DecodedDocument, DecodedImage
from omnivec.media.video import decode_video
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.memory_budget import MemoryBudget
from omnivec.settings import MediaSettings
from omnivec.types import BlobPart, Clip, FileRefPart, Modality, ModelDescriptor

DEFAULT_AUDIO_RATE = 16_000
# The model to suggest when no served model takes a modality: it takes all of them.
SUGGESTED_MULTIMODAL_MODEL = "google/embeddinggemma-2"

_NOUNS = {Modality.IMAGE: "images", Modality.AUDIO: "audio", Modality.VIDEO: "video", Modality.TEXT: "text"}


class MediaPartDecoder:
    """The ``PartDecoder`` used when the media libraries are installed."""

    def __init__(
        self,
        catalogue: ModelCatalogue,
        settings: MediaSettings,
        pdf_workers: PdfWorkers | None = None,
        budget: MemoryBudget | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.settings = settings
        self.pdf_workers = pdf_workers or PdfWorkers()
        self.budget = budget or MemoryBudget(None)
        self._slots = asyncio.Semaphore(settings.decode_concurrency)

    def close(self) -> None:
        """Stop the PDF worker processes (blocking, bounded)."""
        self.pdf_workers.close()

    async def decode(
        self,
        part: BlobPart | FileRefPart,
        model: ModelDescriptor,
        field: str,
        owner: str,
        tally: MediaTally | None = None,
    ) -> list[object]:
        if isinstance(part, FileRefPart):
            # Files of this server's Files API are resolved to inline bytes before this point;
            # anything left is a URL we must not fetch.
            raise InvalidArgument.at(
                field + ".fileData.fileUri",
                f"file_uri must name a file uploaded to this server's Files API; {part.file_uri[:200]!r} "
                "is not one (other URLs are never fetched)",
            )
        where = field + ".inlineData"
        tally = tally if tally is not None else MediaTally()
        size = len(part.data)
        if size > self.settings.max_part_bytes:
            raise InvalidArgument.at(
                where + ".data",
                f"the data is {size} bytes, more than the limit of {self.settings.max_part_bytes}",
            )
        media = identify(part.mime_type, part.data, where)
        if media.modality is not Modality.DOCUMENT and media.modality not in model.modalities:
            raise self._not_taken(media, model, where)
        work = self._plan(part.data, media, model, where, tally, part.clip)
        # What the decode may produce is taken from the memory budget before it starts (429 when
        # spent) and held until the embedding call returns.
        self.budget.charge(decoded_bound(media.modality, model, self.settings, tally))
        async with self._slots:
            return await asyncio.to_thread(work)

    def _plan(
        self,
        data: bytes,
        media: MediaType,
        model: ModelDescriptor,
        field: str,
        tally: MediaTally,
        clip: Clip | None,
    ) -> Callable[[], list[object]]:
        """The decoding to run off the event loop, charging the Content's tally as it goes."""
        settings = self.settings
        takes = model.modalities
        rate = _audio_rate(model)

        def image() -> list[object]:
            return [decode_image(data, media, field=field, settings=settings)]

        def audio() -> list[object]:
            decoded = decode_audio(
                data, media, field=field, limit=tally.audio_left(settings), rate=rate, clip=clip
            )
            tally.audio_s += decoded.duration_s
            return [decoded]

        def video() -> list[object]:
            decoded = decode_video(
                data,
                media,
                field=field,
                settings=settings,
                limit=tally.video_left(settings),
                audio_rate=rate if Modality.AUDIO in takes else None,
                clip=clip,
            )
            tally.video_s += decoded.duration_s
            return [decoded]

        def document() -> list[object]:
            render = Modality.IMAGE in takes
            decoded = self.pdf_workers.decode(
                data, field=field, settings=settings, pages=tally.pages_left(settings), render=render
            )
            tally.pdf_pages += len(decoded.pages)
            if Modality.DOCUMENT in takes:
                return [decoded]
            if render:
                return _pages_as_images(decoded, with_text=Modality.TEXT in takes)
            return self._pages_as_text(decoded, model, field)

        if media.modality is Modality.IMAGE:
            # Counted before decoding, so a seventh image costs nothing.
            tally.take_image(settings, field)
            return image
        return {Modality.AUDIO: audio, Modality.VIDEO: video, Modality.DOCUMENT: document}[media.modality]

    @staticmethod
    def _pages_as_text(document: DecodedDocument, model: ModelDescriptor, field: str) -> list[object]:
        texts: list[object] = [page.text for page in document.pages if page.text]
        if not texts:
            raise InvalidArgument.at(
                field,
                f"the PDF holds no extractable text (scanned pages?) and model {model.name} takes only "
                f"text; serve a model that takes images (e.g. --model {SUGGESTED_MULTIMODAL_MODEL}) "
                "to embed its pages",
            )
        return texts

    def _not_taken(self, media: MediaType, model: ModelDescriptor, field: str) -> InvalidArgument:
        noun = _NOUNS[media.modality]
        takes = " and ".join(sorted(_NOUNS.get(m, m.value.lower()) for m in model.modalities))
        able = [
            m.name for m in self.catalogue.list() if m.alias_of is None and media.modality in m.modalities
        ]
        if able:
            advice = f"send it to a served model that takes {noun}: " + ", ".join(f"models/{n}" for n in able)
        else:
            advice = (
                f"no model served here takes {noun}; start the server with one that does, "
                f"e.g. omnivec serve --model {SUGGESTED_MULTIMODAL_MODEL}"
            )
        return InvalidArgument.at(
            field, f"model {model.name} takes {takes}, not {noun} ({media.mime}); {advice}"
        )


def decoded_bound(
    modality: Modality, model: ModelDescriptor, settings: MediaSettings, tally: MediaTally
) -> int:
    """The most bytes a decode of one part may produce under the media limits: pixels at three
    bytes, audio samples at four."""
    picture = settings.image_max_side**2 * 3
    audio = int(settings.max_audio_s * _audio_rate(model) * 4) if Modality.AUDIO in model.modalities else 0
    if modality is Modality.IMAGE:
        return picture
    if modality is Modality.AUDIO:
        return audio
    if modality is Modality.VIDEO:
        return settings.max_video_frames * settings.video_frame_max_side**2 * 3 + audio
    pages = max(1, settings.max_pdf_pages - tally.pdf_pages)
    per_page = MAX_PAGE_CHARS * 4 + (picture if Modality.IMAGE in model.modalities else 0)
    return pages * per_page


def _pages_as_images(document: DecodedDocument, *, with_text: bool) -> list[object]:
    """Each page's text, then its image, in page order."""
    out: list[object] = []
    for index, page in enumerate(document.pages):
        if with_text and page.text:
            out.append(page.text)
        if page.image is not None:
            digest = f"{document.content_hash}#page={index + 1}"
            out.append(DecodedImage(page.image, page.image.width, page.image.height, digest))
    return out


def _audio_rate(model: ModelDescriptor) -> int:
    """The sample rate the model's audio front end wants (CLAP: 48 kHz), 16 kHz when unsaid."""
    return model.audio_sample_rate or DEFAULT_AUDIO_RATE
