"""What crosses between the API process and a replica. Domain errors do not all survive
pickling (their constructors take more than a message), so a replica answers a failure as a
``RemoteFailure`` that is raised again, as the same error, on this side."""

from __future__ import annotations

from dataclasses import dataclass

from omnivec import errors
from omnivec.runtime.backends.base import InputTooLong
from omnivec.runtime.inputs import EncodedItem


@dataclass(frozen=True, slots=True)
class RemoteFailure:
    kind: str  # the domain error's class name
    message: str
    retry_after_s: float = 1.0
    # InputTooLong's position and counts, which the service turns into a field path.
    index: int = 0
    tokens: int = 0
    limit: int = 0

    @classmethod
    def of(cls, exc: errors.OmnivecError) -> RemoteFailure:
        if isinstance(exc, InputTooLong):
            return cls("InputTooLong", exc.message, index=exc.index, tokens=exc.tokens, limit=exc.limit)
        retry = exc.retry_after_s if isinstance(exc, errors.ResourceExhausted) else 1.0
        return cls(type(exc).__name__, exc.message, retry_after_s=retry)

    def error(self) -> errors.OmnivecError:
        if self.kind == "InputTooLong":
            return InputTooLong(self.index, self.tokens, self.limit)
        if self.kind == "ResourceExhausted":
            return errors.ResourceExhausted(self.message, retry_after_s=self.retry_after_s)
        cls = getattr(errors, self.kind, None)
        if isinstance(cls, type) and issubclass(cls, errors.OmnivecError):
            return cls(self.message)
        return errors.Internal(self.message)


# A replica's answer to one call: the encoded items, or the failure to raise.
Reply = list[EncodedItem] | RemoteFailure
