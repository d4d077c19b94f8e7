"""Airflow 3's Task SDK base classes, with the Airflow 2 locations as a fallback."""

from __future__ import annotations

try:  # Airflow 3
    from airflow.sdk import BaseHook, BaseOperator
except ImportError:  # pragma: no cover - Airflow 2
    from airflow.hooks.base import BaseHook
    from airflow.models import BaseOperator

from airflow.exceptions import AirflowException

__all__ = ["AirflowException", "BaseHook", "BaseOperator"]
