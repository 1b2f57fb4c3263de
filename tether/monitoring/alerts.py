"""Alerts from drift reports: posted to a webhook as JSON and written to the log; the same
condition is not alerted again inside a quiet period. When an alert was last sent is kept in
a small JSON file (written atomically), so the quiet period holds across processes."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.monitoring.errors import BadSetting

if TYPE_CHECKING:
    from tether.monitoring.report import DriftReport

log = logging.getLogger("tether.monitoring")


@dataclass
class Alert:
    monitor: str
    condition: str  # what is wrong, stable between runs: "dataset_drift", "drift:tenure", ...
    message: str
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.monitor}/{self.condition}"


def alerts_for(report: DriftReport, monitor: str) -> list[Alert]:
    """The alerts a report raises: dataset drift, each drifted column, prediction drift."""
    out = []
    if report.dataset_drift:
        out.append(
            Alert(
                monitor,
                "dataset_drift",
                f"{monitor}: dataset drift, {report.share_drifted:.0%} of columns drifted",
                {"share_drifted": report.share_drifted, "columns": report.drifted_columns},
            )
        )
    for c in report.columns:
        if c.drift:
            kind = "drift" if c.role == "feature" else f"{c.role}_drift"
            out.append(
                Alert(
                    monitor,
                    f"{kind}:{c.column}",
                    f"{monitor}: {c.column} drifted ({c.test} = {c.statistic:.4g})",
                    {
                        "column": c.column,
                        "test": c.test,
                        "statistic": c.statistic,
                        "p_value": c.adjusted_p,
                    },
                )
            )
    return out


@dataclass
class Delivery:
    sent: list[Alert]  # posted (or logged, without a webhook) now
    quiet: list[Alert]  # held back: the same condition was alerted inside the quiet period
    failed: list[tuple[Alert, str]]  # the webhook did not take them; retried next time


class Alerter:
    """Sends alerts to ``webhook`` (a URL that receives a JSON POST per alert) and the log."""

    def __init__(
        self,
        state: str | Path,
        *,
        webhook: str | None = None,
        quiet_period: timedelta = timedelta(hours=1),
        timeout: float = 10.0,
    ) -> None:
        if quiet_period < timedelta(0):
            raise BadSetting(f"quiet_period must not be negative, not {quiet_period}")
        if webhook is not None and not webhook.startswith(("http://", "https://")):
            raise BadSetting(f"webhook must be an http:// or https:// URL, not {webhook!r}")
        self.state = Path(state)
        self.webhook = webhook
        self.quiet_period = quiet_period
        self.timeout = timeout

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.state.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("alert state %s unreadable (%s); starting afresh", self.state, e)
            return {}
        return data if isinstance(data, dict) else {}

    def _post(self, alert: Alert, at: datetime) -> str | None:
        """None when the webhook took it, else why not."""
        import urllib.error
        import urllib.request

        assert self.webhook is not None
        body = json.dumps({**asdict(alert), "time": at.isoformat()}).encode()
        req = urllib.request.Request(
            self.webhook, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                resp.read()
        except urllib.error.HTTPError as e:
            return f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            return str(getattr(e, "reason", e))
        return None

    def send(self, alerts: list[Alert], *, now: datetime | None = None) -> Delivery:
        from tether.config.atomic import write_text_atomic

        now = now or datetime.now(UTC)
        last = self._load()
        done = Delivery([], [], [])
        for alert in alerts:
            prev = last.get(alert.key)
            if prev is not None and now - datetime.fromisoformat(prev) < self.quiet_period:
                done.quiet.append(alert)
                continue
            error = self._post(alert, now) if self.webhook else None
            if error is not None:
                log.warning("alert %s: webhook %s failed: %s", alert.key, self.webhook, error)
                done.failed.append((alert, error))
                continue
            log.warning("alert %s", alert.message)
            last[alert.key] = now.isoformat()
            done.sent.append(alert)
        if done.sent:
            self.state.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.state, json.dumps(last, indent=1, sort_keys=True))
        return done
