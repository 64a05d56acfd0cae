"""Response bodies of notify's administration and delivery-log API, as its OpenAPI
document declares them. No addresses and no message text in any of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class RoutingRuleOut(BaseModel):
    county_code: str = Field(description="'' for the county-wide default")
    event_type: str
    audience: str
    template: str
    channels: list[str]
    enabled: bool
    version: int
    updated_at: datetime
    updated_by: str = Field(description="who last changed it: an account subject, 'migration' or 'system'")


class StaffRecipientOut(BaseModel):
    id: UUID
    staff_id: str
    jurisdiction: str
    level: str
    school_id: str | None
    channels: list[str]
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str = Field(description="who last changed it: an account subject, 'migration' or 'system'")
    contacts: dict[str, Any] | None = Field(default=None, description="only with view_sensitive")


class ShiftOut(BaseModel):
    id: UUID
    recipient_id: UUID
    jurisdiction: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    version: int
    updated_at: datetime
    updated_by: str = Field(description="who last changed it: an account subject, 'migration' or 'system'")
    staff_id: str | None = Field(default=None, description="in lists and changes")


class WebhookOut(BaseModel):
    id: UUID
    county_code: str
    event_types: list[str]
    active: bool
    version: int
    created_at: datetime


class StoredTemplate(BaseModel):
    template_key: str
    locale: str
    channel: str
    subject: str | None
    body: str
    version: int = Field(description="also the ETag; send it back in If-Match to change the template")
    updated_at: datetime


class TemplateOut(StoredTemplate):
    variables: list[str] = Field(description="the variables this template may use")


class DeliveryOut(BaseModel):
    id: UUID
    source_event_id: UUID
    event_type: str
    recipient_kind: str
    recipient_id: str
    channel: str
    template: str
    child_id: UUID | None
    county_code: str
    township_code: str
    school_id: str | None = Field(default=None, description="the school of the child the message is about")
    urgent: bool
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class DeliveryCount(BaseModel):
    channel: str
    status: str
    count: int
    oldest: datetime


class Requeued(BaseModel):
    id: UUID
    status: str


class Preview(BaseModel):
    template_key: str
    locale: str
    channel: str
    subject: str
    text: str
