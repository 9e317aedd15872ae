"""Code-of-conduct compliance: catalogues (sector-wide) and institutions' self-assessments.

A catalogue (code + version) holds sections and clauses; it is shared by the sector and never
tenant-owned. An assessment is one institution's answers for one period, pinned to one
catalogue version; its answers, evidence files and comments are owned by the institution.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.audit import Audited
from core.models.types import UTCDateTime, utcnow
from core.tenancy import TenantOwned

# Answers a clause can get (SPI4 style).
MET = "met"
PARTLY = "partly"
NOT_MET = "not_met"
NOT_APPLICABLE = "not_applicable"
ANSWERS = (MET, PARTLY, NOT_MET, NOT_APPLICABLE)

# Who a clause applies to.
APPLIES_ALL = "all"
APPLIES_LARGER = "larger"
APPLIES_TO = (APPLIES_ALL, APPLIES_LARGER)

# Workflow states of an assessment.
DRAFT = "draft"
SUBMITTED = "submitted"
UNDER_REVIEW = "under_review"
CHANGES_REQUESTED = "changes_requested"
APPROVED = "approved"
STATUSES = (DRAFT, SUBMITTED, UNDER_REVIEW, CHANGES_REQUESTED, APPROVED)
EDITABLE = (DRAFT, CHANGES_REQUESTED)


class Catalogue(Audited, db.Model):
    """One version of a code of conduct, loaded from a YAML file."""

    __tablename__ = "compliance_catalogues"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(40))
    titles: Mapped[dict] = mapped_column(JSON)
    notices: Mapped[dict] = mapped_column(JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sections: Mapped[list[CatalogueSection]] = relationship(
        back_populates="catalogue", order_by="CatalogueSection.position", cascade="all, delete-orphan")
    clauses: Mapped[list[Clause]] = relationship(
        back_populates="catalogue", order_by="Clause.position", cascade="all, delete-orphan")

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles.get("en") or self.code


class CatalogueSection(db.Model):
    """A section of a catalogue ("1": customer and investor relations)."""

    __tablename__ = "compliance_sections"
    __table_args__ = (UniqueConstraint("catalogue_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("compliance_catalogues.id"), index=True)
    key: Mapped[str] = mapped_column(String(20))
    titles: Mapped[dict] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer)

    catalogue: Mapped[Catalogue] = relationship(back_populates="sections")

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles.get("en") or self.key


class Clause(db.Model):
    """One clause: its id ("1.2"), text in nl/fr/en, priority flag, scope and guidance."""

    __tablename__ = "compliance_clauses"
    __table_args__ = (UniqueConstraint("catalogue_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("compliance_catalogues.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("compliance_sections.id"), index=True)
    key: Mapped[str] = mapped_column(String(20))
    texts: Mapped[dict] = mapped_column(JSON)
    guidance: Mapped[dict] = mapped_column(JSON, default=dict)
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    applies_to: Mapped[str] = mapped_column(String(10), default=APPLIES_ALL)
    position: Mapped[int] = mapped_column(Integer)

    catalogue: Mapped[Catalogue] = relationship(back_populates="clauses")
    section: Mapped[CatalogueSection] = relationship(lazy="joined")

    def text(self, language: str) -> str:
        return self.texts.get(language) or self.texts.get("en") or self.key

    def guidance_text(self, language: str) -> str:
        return (self.guidance or {}).get(language) or (self.guidance or {}).get("en", "")


class Assessment(Audited, TenantOwned, db.Model):
    """An institution's self-assessment for one period against one catalogue version."""

    __tablename__ = "compliance_assessments"
    __audit_ignore__ = frozenset({"created_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("compliance_catalogues.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # Clauses marked "larger providers only" apply only when this is true.
    larger_provider: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    award_date: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    progress_report_due: Mapped[date | None] = mapped_column(Date)
    # Automatic evidence as computed when the assessment was last submitted:
    # {clause key: [{"title": ..., "summary": ..., "ok": bool|None}]}
    automatic_evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    catalogue: Mapped[Catalogue] = relationship(lazy="joined")
    answers: Mapped[list[Answer]] = relationship(back_populates="assessment",
                                                 cascade="all, delete-orphan")

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE


class Answer(Audited, TenantOwned, db.Model):
    """The institution's answer to one clause: met / partly / not met / not applicable."""

    __tablename__ = "compliance_answers"
    __table_args__ = (UniqueConstraint("assessment_id", "clause_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("compliance_assessments.id"), index=True)
    clause_id: Mapped[int] = mapped_column(ForeignKey("compliance_clauses.id"), index=True)
    answer: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")  # why "not applicable"
    comment: Mapped[str] = mapped_column(Text, default="")
    evidence_text: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list] = mapped_column(JSON, default=list)

    assessment: Mapped[Assessment] = relationship(back_populates="answers")
    clause: Mapped[Clause] = relationship(lazy="joined")


class EvidenceFile(Audited, TenantOwned, db.Model):
    """An uploaded file backing an answer; the bytes live under the instance folder."""

    __tablename__ = "compliance_evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("compliance_assessments.id"), index=True)
    clause_id: Mapped[int] = mapped_column(ForeignKey("compliance_clauses.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClauseComment(Audited, TenantOwned, db.Model):
    """A remark on a clause: an auditor's request or the institution's answer to it."""

    __tablename__ = "compliance_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("compliance_assessments.id"), index=True)
    clause_id: Mapped[int] = mapped_column(ForeignKey("compliance_clauses.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(200))
    from_federation: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
