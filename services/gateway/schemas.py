"""Request and response models of the HTTP API."""

from pydantic import BaseModel, Field, field_validator

from shared.envelope import ArticleInput
from shared.ids import normalise_for_id


class ArticleSubmission(ArticleInput):
    """An article as submitted: `text` is required, everything else optional."""

    text: str = Field(description="The article body (plain text).")
    title: str | None = Field(None, max_length=1000)
    url: str | None = Field(None, max_length=2048)
    source: str | None = Field(None, max_length=256)
    external_id: str | None = Field(
        None, max_length=256, description="Your id for the article; it makes the Newsflow id."
    )

    @field_validator("text")
    @classmethod
    def text_not_blank(cls, value: str) -> str:
        if not normalise_for_id(value):
            raise ValueError("text must not be empty")
        return value


class Accepted(BaseModel):
    id: str
    status: str
    duplicate: bool = False


class BatchAccepted(BaseModel):
    ids: list[str]
    items: list[Accepted]
