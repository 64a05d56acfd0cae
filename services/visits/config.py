from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings
from shared.terms import TERMS_SPEC


class VisitsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_VISITS_", extra="ignore", populate_by_name=True)

    service_name: str = "visits"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu_visits"
    http_port: int = 8003

    # Dates (periods, "due on", "overdue by") are the county's calendar days: the clock's
    # today in `county_timezone` (shared settings, SHOUHU_COUNTY_TIMEZONE).
    # School terms for per-term duties (a letter to the parents each term, 篇16), as
    # "MM-DD:MM-DD" ranges; a range whose end is before its start runs into the next year.
    # By default the terms every screen and report uses (shared/terms.py).
    terms: str = TERMS_SPEC
    # A pairing recorded with a start date in the past owes the duties of windows that
    # ended within this many days: entered late, it still shows what was missed, but no
    # older history is invented (0: duties start from the day the pairing is recorded).
    backfill_days: int = 45
    # Phones' clocks drift: a contact this far "in the future" is a clock, not a lie.
    clock_skew_minutes: int = 5

    # Scheduler: DutyDueSoon this many days before the due date; the overdue ladder goes
    # caregiver (1 day late) → school or township staff (N days) → county (M days).
    due_soon_days: int = 3
    escalate_to_school_after_days: int = 7
    escalate_to_county_after_days: int = 14
    # An unacknowledged concern moves from township to county staff after this many hours.
    concern_escalation_hours: dict[str, float] = Field(
        default_factory=lambda: {"urgent": 2.0, "high": 12.0, "medium": 48.0, "low": 168.0})
    # A concern on the mandatory-report path (强制报告) never waits longer than this.
    mandatory_report_escalation_hours: float = 2.0
    # A concern's case: hours each state may last before the next step is due (acknowledged
    # → referred or closed, referred → accepted by the agency, accepted → the first note,
    # following_up → the next note). A missed deadline goes to the township's on-duty staff,
    # then `case_escalate_to_county_after_hours` later to the county's.
    case_deadline_hours: dict[str, float] = Field(
        default_factory=lambda: {"acknowledged": 72.0, "referred": 72.0, "accepted": 168.0, "following_up": 720.0})
    # 强制报告: a mandatory report is referred within a day.
    mandatory_case_deadline_hours: dict[str, float] = Field(default_factory=lambda: {"acknowledged": 24.0})
    case_escalate_to_county_after_hours: float = 48.0
    scan_interval_s: float = 300.0
    scan_batch_size: int = 1000
    scheduler_enabled: bool = True
    # A scan for a future date announces duties as overdue that are not (yet): useful in
    # tests and rehearsals, harmful in production, so it must be switched on.
    allow_future_scans: bool = False


def load_settings() -> VisitsSettings:
    return VisitsSettings()
