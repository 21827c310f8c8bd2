"""The one error type that task loading raises for a defective or missing task."""

from __future__ import annotations


class TaskLoadError(Exception):
    """A task's files are missing or defective.

    The message names the task, the file, what is wrong and how to fix it.
    """

    def __init__(self, task: str, file: str, problem: str, fix: str) -> None:
        self.task = task
        self.file = file
        self.problem = problem
        self.fix = fix
        super().__init__(f"task {task!r}: {file}: {problem}. Fix: {fix}")


class ParseError(ValueError):
    """A record in a data file could not be parsed; `location` is `line N` or `record N`."""

    def __init__(self, location: str, problem: str) -> None:
        self.location = location
        self.problem = problem
        super().__init__(f"{location}: {problem}")
