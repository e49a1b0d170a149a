"""What the people routes answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ClassRead(BaseModel):
    """A class the person is enrolled in (as teacher or student)."""

    sourced_id: str
    title: str
    role: str
    school_id: str
    school_name: str | None
    grades: list[str]
    subjects: list[str]


class PersonRead(BaseModel):
    """A rostered person and how the signed-in identity was linked to them."""

    sourced_id: str
    role: str
    given_name: str | None
    family_name: str | None
    email: str | None
    linked_by: Literal["sourced_id", "email", "username"]
    classes: list[ClassRead]


class ResolvedRead(BaseModel):
    """The rostered person an identifier names."""

    sourced_id: str
    role: str
