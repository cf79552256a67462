"""The heap is trimmed when a process grows past its slack, and not again while it stays there."""

from __future__ import annotations

from omnivec.runtime.memory import HeapTrimmer, resident_bytes

MIB = 1 << 20


class _Process:
    """Resident size as the trimmer sees it; a trim gives back what was freed."""

    def __init__(self, rss: int) -> None:
        self.rss = rss
        self.freed = 0
        self.trims = 0

    def trim(self) -> None:
        self.trims += 1
        self.rss -= self.freed
        self.freed = 0


def test_a_pass_within_the_slack_is_not_trimmed() -> None:
    process = _Process(600 * MIB)
    trimmer = HeapTrimmer(64 * MIB, rss=lambda: process.rss, trim=process.trim)
    trimmer.after_pass()  # settles at 600
    for _ in range(10):
        process.rss = 650 * MIB  # a pass's working set, freed but kept by the allocator
        trimmer.after_pass()
    assert process.trims == 0


def test_growth_past_the_slack_is_trimmed_back_to_the_settled_size() -> None:
    process = _Process(600 * MIB)
    trimmer = HeapTrimmer(64 * MIB, rss=lambda: process.rss, trim=process.trim)
    trimmer.after_pass()
    process.rss, process.freed = 700 * MIB, 95 * MIB  # fragmentation of many passes
    trimmer.after_pass()
    assert process.trims == 1
    assert process.rss == 605 * MIB


def test_memory_that_stays_live_raises_the_settled_size_instead_of_trimming_each_pass() -> None:
    process = _Process(600 * MIB)
    trimmer = HeapTrimmer(64 * MIB, rss=lambda: process.rss, trim=process.trim)
    trimmer.after_pass()
    process.rss = 800 * MIB  # live: nothing to give back
    trimmer.after_pass()
    assert process.trims == 1
    for _ in range(5):
        trimmer.after_pass()
    assert process.trims == 1


def test_idle_release_trims_and_resettles() -> None:
    process = _Process(600 * MIB)
    trimmer = HeapTrimmer(64 * MIB, rss=lambda: process.rss, trim=process.trim)
    process.freed = 50 * MIB
    trimmer.release()
    assert (process.trims, process.rss) == (1, 550 * MIB)
    process.rss = 600 * MIB
    trimmer.after_pass()  # within 64 MiB of 550
    assert process.trims == 1


def test_the_process_reports_its_resident_size() -> None:
    rss = resident_bytes()
    assert rss is None or rss > 10 * MIB
