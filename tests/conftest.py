"""Shared fixtures: one embedded AWS server per test session, a fresh namespace per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.settings import Settings

_namespaces = itertools.count()


@pytest.fixture(scope="session")
def embedded_aws() -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS(prefix="session") as aws:
        yield aws


@pytest.fixture
def settings(embedded_aws: EmbeddedAWS) -> Settings:
    """Settings pointing at fresh, empty tables and bucket (unique names per test)."""
    return embedded_aws.create_resources(f"t{next(_namespaces)}")
