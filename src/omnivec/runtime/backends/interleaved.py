"""Shared machinery of natively interleaved models (EmbeddingGemma 2, Qwen3-VL-Embedding).

All parts of one Content go to the model together, in order, as one token sequence: text is
tokenised, every media item becomes the run of soft-token slots its encoder fills. The sequence
is built the way the checkpoint's own processor builds it: the content is rendered through the
model's chat template (when it ships one), each media placeholder the template emits is replaced
by that item's run, and special tokens are added exactly when the processor would add them. The
model then pools the sequence into one vector.

The CPU step does all of that, media preprocessing included; the device step only pads, stacks
and runs the forward pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from omnivec.errors import ModelLoadError
from omnivec.media.types import DecodedDocument, DecodedImage
from omnivec.runtime.backends.base import BackendInfo, InputError, InputTooLong, preparing, refuse_start_cut
from omnivec.runtime.backends.media_parts import check_modalities, document_pieces, l2_normalised, rgb
from omnivec.runtime.backends.prompts import prompted_parts
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.types import Modality

_KIND_MODALITY = {"image": Modality.IMAGE, "video": Modality.VIDEO, "audio": Modality.AUDIO}
# Attempts at fitting over-long text into the context: re-tokenising a cut text can shift the
# count by a token or two, so the cut is re-checked.
_FIT_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class MediaRun:
    """One media item after the CPU step."""

    kind: str  # "image", "video" or "audio": which placeholder it fills
    counted_as: Modality  # the modality its tokens are reported under
    ids: list[int]  # the token ids that replace the placeholder
    arrays: dict[str, np.ndarray]  # the processor's output for this item
    encoder_positions: int  # positions the media encoder attends over (its share of the cost)


@dataclass(frozen=True, slots=True)
class Element:
    """One item of the content, in order: a text or a media run."""

    text: str | None = None
    run: MediaRun | None = None
    counted_as: Modality = Modality.TEXT


@dataclass(slots=True)
class TokenSequence:
    input_ids: list[int]
    runs: list[MediaRun] = field(default_factory=list)


def context_limit(declared: int | None, tokenizer: Any, default: int) -> int:
    """The token limit: the sentence-transformers setting when the checkpoint has one, else the
    tokenizer's (unless it is the 'unlimited' sentinel), else the model family's trained context."""
    if declared:
        return declared
    limit = int(getattr(tokenizer, "model_max_length", 0) or 0)
    return limit if 0 < limit <= 1_000_000 else default


def inference_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 on GPUs that have it (these models are trained in it; float16 overflows in
    EmbeddingGemma), float32 everywhere else."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


class InterleavedBackend:
    """Subclasses say how media become runs and which tensors the model takes."""

    info: BackendInfo
    placeholders: dict[str, str]  # media kind -> the placeholder token the chat template emits
    reserved: tuple[str, ...] = ()  # special tokens user text may not smuggle in
    add_generation_prompt = False

    def __init__(self, model: Any, tokenizer: Any, device: torch.device) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.dtype = next(model.parameters()).dtype
        self.template: str | None = getattr(tokenizer, "chat_template", None)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._prefix, self._suffix = special_affixes(tokenizer)
        self._placeholder_ids = {
            tokenizer.convert_tokens_to_ids(t): kind for kind, t in self.placeholders.items()
        }
        markers = [re.escape(t) for t in (*self.placeholders.values(), *self.reserved)]
        self._markers = re.compile("|".join(markers)) if markers else None

    # --- hooks ----------------------------------------------------------------------------
    def media_elements(self, part: Any, index: int) -> list[Element]:
        raise NotImplementedError

    def conversation(self, content: list[dict[str, Any]], instruction: str | None) -> list[dict[str, Any]]:
        return [{"role": "user", "content": content}]

    def prompt(self, item: ModelInput) -> tuple[str | None, tuple[Any, ...]]:
        """The system-turn instruction (None: the template's own) and the parts with the task
        prompt rendered in the model's convention; by default, on the first text part."""
        style = self.info.prompt_style
        return None, prompted_parts(style, item.parts, item.task, item.title, interleaved=True)

    def media_inputs(self, runs: list[MediaRun]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def encode(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, media: dict[str, Any]
    ) -> torch.Tensor:
        raise NotImplementedError

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # --- load-time check ------------------------------------------------------------------
    def check_template(self) -> None:
        """The chat template must emit one placeholder per media item, or media could not be placed."""
        if self.template is None:
            return
        for kind, token in self.placeholders.items():
            if _KIND_MODALITY[kind] not in self.info.modalities:
                continue
            rendered = self._render([{"type": "text", "text": "x"}, {"type": kind}], None)
            if rendered.count(token) != 1:
                raise ModelLoadError(
                    f"The chat template of model {self.info.model_id} does not place {kind} inputs "
                    f"(no {token} placeholder); it cannot embed {kind}."
                )

    # --- CPU step -------------------------------------------------------------------------
    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        prepared = []
        for index, item in enumerate(inputs):
            with preparing(index):
                prepared.append(self._prepare_one(index, item, auto_truncate))
        return prepared

    def _prepare_one(self, index: int, item: ModelInput, auto_truncate: bool) -> PreparedItem:
        check_modalities(self.info.model_id, index, item.parts, self.info.modalities)
        instruction, parts = self.prompt(item)
        elements: list[Element] = []
        for part in parts:
            if isinstance(part, str):
                elements.append(Element(text=self._clean(part)))
            elif isinstance(part, DecodedDocument):
                elements.extend(self._document(part, index))
            else:
                elements.extend(self.media_elements(part, index))
        if not elements:
            raise InputError(index, "nothing to embed (no text, and no pages with content)")
        sequence = self._sequence(elements, instruction)
        limit = self.info.max_tokens
        truncated = False
        if len(sequence.input_ids) > limit:
            if not auto_truncate:
                raise InputTooLong(index, len(sequence.input_ids), limit)
            refuse_start_cut(index, item, self.info.model_id)
            elements, sequence = self._fit(index, elements, instruction, limit)
            truncated = True
        tokens = self._tokens_by_modality(elements, sequence)
        cost = len(sequence.input_ids) + sum(run.encoder_positions for run in sequence.runs)
        return PreparedItem(cost, len(sequence.input_ids), sequence, truncated, tokens)

    def _document(self, document: DecodedDocument, index: int) -> list[Element]:
        elements = []
        for piece in document_pieces(document, with_images=Modality.IMAGE in self.info.modalities):
            if piece.image is not None:
                page = rgb(piece.image)
                image = DecodedImage(page, page.width, page.height, document.content_hash)
                for element in self.media_elements(image, index):
                    run = replace(element.run, counted_as=Modality.DOCUMENT) if element.run else None
                    elements.append(Element(text=element.text, run=run, counted_as=Modality.DOCUMENT))
            else:
                elements.append(Element(text=self._clean(piece.text or ""), counted_as=Modality.DOCUMENT))
        return elements

    def _clean(self, text: str) -> str:
        """User text may not carry the model's media markers: a stray placeholder would claim
        soft-token slots that no media fills."""
        return self._markers.sub("", text) if self._markers else text

    def _render(self, content: list[dict[str, Any]], instruction: str | None) -> str:
        if self.template is None:  # text as is; consecutive texts (PDF pages) on their own lines
            out: list[str] = []
            for previous, item in zip([None, *content], content, strict=False):
                if item["type"] != "text":
                    out.append(self.placeholders[item["type"]])
                    continue
                follows_text = previous is not None and previous["type"] == "text"
                out.append(("\n" if follows_text else "") + item["text"])
            return "".join(out)
        rendered = self.tokenizer.apply_chat_template(
            self.conversation(content, instruction),
            tokenize=False,
            add_generation_prompt=self.add_generation_prompt,
        )
        return str(rendered)

    def _sequence(self, elements: list[Element], instruction: str | None) -> TokenSequence:
        content = [
            {"type": "text", "text": e.text} if e.run is None else {"type": e.run.kind} for e in elements
        ]
        rendered = self._render(content, instruction)
        # As the processors do: a template that writes its own BOS gets no special tokens added.
        bos = self.tokenizer.bos_token
        affixes = not (bos and rendered.startswith(bos))
        ids = self.tokenizer(rendered, add_special_tokens=False)["input_ids"]
        runs = iter([e.run for e in elements if e.run is not None])
        spliced: list[int] = list(self._prefix) if affixes else []
        used: list[MediaRun] = []
        for token in ids:
            kind = self._placeholder_ids.get(token)
            if kind is None:
                spliced.append(token)
                continue
            run = next(runs, None)
            if run is None or run.kind != kind:
                raise RuntimeError(f"the chat template placed a {kind} the content does not have")
            spliced.extend(run.ids)
            used.append(run)
        if next(runs, None) is not None:
            raise RuntimeError("the chat template dropped a media item")
        if affixes:
            spliced.extend(self._suffix)
        return TokenSequence(spliced, used)

    def _fit(
        self, index: int, elements: list[Element], instruction: str | None, limit: int
    ) -> tuple[list[Element], TokenSequence]:
        """Cut text from the end of the content until the sequence fits; media are never cut."""
        elements = list(elements)
        for _ in range(_FIT_ATTEMPTS):
            sequence = self._sequence(elements, instruction)
            excess = len(sequence.input_ids) - limit
            if excess <= 0:
                return elements, sequence
            for i in range(len(elements) - 1, -1, -1):
                text = elements[i].text
                if excess <= 0 or not text:
                    continue
                ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
                keep = max(0, len(ids) - excess - 1)
                excess -= len(ids) - keep
                elements[i] = Element(
                    text=self.tokenizer.decode(ids[:keep]), counted_as=elements[i].counted_as
                )
        sequence = self._sequence(elements, instruction)
        if len(sequence.input_ids) > limit:
            media = sum(len(r.ids) for r in sequence.runs)
            raise InputError(
                index,
                f"its media alone need {media} tokens, and the whole content "
                f"{len(sequence.input_ids)}, more than the {limit} model {self.info.model_id} takes; "
                "send fewer or shorter media per content",
            )
        return elements, sequence

    def _tokens_by_modality(self, elements: list[Element], sequence: TokenSequence) -> dict[Modality, int]:
        counts: dict[Modality, int] = {}
        for run in sequence.runs:
            counts[run.counted_as] = counts.get(run.counted_as, 0) + len(run.ids)
        for element in elements:  # document text is reported as document, not as text
            if element.text and element.counted_as is not Modality.TEXT:
                n = len(self.tokenizer(element.text, add_special_tokens=False)["input_ids"])
                counts[element.counted_as] = counts.get(element.counted_as, 0) + n
        rest = len(sequence.input_ids) - sum(counts.values())
        if rest > 0:
            counts[Modality.TEXT] = counts.get(Modality.TEXT, 0) + rest
        return counts

    # --- device step ----------------------------------------------------------------------
    def forward(self, items: Sequence[PreparedItem]) -> Any:
        rows: list[TokenSequence] = [item.payload for item in items]
        width = max(len(r.input_ids) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):  # right padding: positions of real tokens start at 0
            input_ids[i, : len(row.input_ids)] = torch.tensor(row.input_ids, dtype=torch.long)
            attention_mask[i, : len(row.input_ids)] = 1
        media = self.media_inputs([run for row in rows for run in row.runs])
        media = {
            k: v.to(self.device, self.dtype if v.is_floating_point() else v.dtype) for k, v in media.items()
        }
        input_ids, attention_mask = input_ids.to(self.device), attention_mask.to(self.device)
        with torch.inference_mode():
            hidden = self.encode(input_ids, attention_mask, media)
            return self.pool(hidden, attention_mask).float()

    def finalize(self, output: Any) -> np.ndarray:
        return l2_normalised(output.cpu().numpy())

    def close(self) -> None:
        self.model = None


def special_affixes(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a text (Gemma: BOS ... EOS)."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return full[:start], full[start + len(bare) :]
    return [], []


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def last_token_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    last = attention_mask.sum(dim=1) - 1  # right padding: the last real token
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


def stack(runs: list[MediaRun], key: str) -> torch.Tensor:
    return torch.from_numpy(np.concatenate([run.arrays[key] for run in runs]))
