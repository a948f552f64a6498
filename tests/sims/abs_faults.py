"""Fault injection for the Audiobookshelf simulator: fail, delay or garble the next N requests.

Faults are matched on the request path with shell-style globs (``/api/libraries/*/items``) so a
test can target one endpoint without knowing ids, and are consumed in the order they were added.
They apply before authentication, as a proxy or an overloaded Node process would.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field


@dataclass(slots=True)
class Fault:
    path_glob: str
    remaining: int
    method: str | None = None
    status: int | None = None  # None: let the request through (possibly after ``delay``)
    body: bytes = b"Internal Server Error"
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and fnmatch.fnmatchcase(path, self.path_glob)


class FaultPlan:
    """Thread-safe queue of pending faults (tests add them while uvicorn serves in another thread)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail_next(
        self,
        path_glob: str,
        n: int = 1,
        *,
        status: int = 500,
        body: str = "Internal Server Error",
        method: str | None = None,
        retry_after: float | None = None,
    ) -> Fault:
        """The next ``n`` matching requests get ``status`` with a plain-text body."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        return self.add(Fault(path_glob, n, method=method, status=status, body=body.encode(), headers=headers))

    def delay_next(self, path_glob: str, seconds: float, n: int = 1, *, method: str | None = None) -> Fault:
        """The next ``n`` matching requests are answered normally, ``seconds`` late."""
        return self.add(Fault(path_glob, n, method=method, delay=seconds))

    def malformed_next(self, path_glob: str, n: int = 1, *, method: str | None = None) -> Fault:
        """The next ``n`` matching requests get 200 with a truncated JSON body."""
        return self.add(
            Fault(
                path_glob,
                n,
                method=method,
                status=200,
                body=b'{"results":[{"id":"li-',
                content_type="application/json; charset=utf-8",
            )
        )

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)
