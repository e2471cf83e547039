"""The web page: server-rendered HTML (Jinja2) over the same Gateway functions as the API.

Pages live under /web (the API owns /articles and /entities); / leads to the article list.
Reads follow the API's rule: a signed-in session, or nobody with PUBLIC_READ=true. Every
change (sign-in, sign-out, submit, re-drive) is a POST form carrying the session's CSRF
token, and a write needs a signed-in session and counts against the key's rate limit as
the API's writes do. Every answer carries a strict Content-Security-Policy: no inline
script or style anywhere, the templates pass data to static/web.js in data-* attributes.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from services.gateway.errors import ApiError
from services.gateway.intake import check_params, decode_utf8, reject_binary, validate_article
from services.gateway.schemas import Article, ArticleSubmission, Limits
from services.gateway.security import Caller, charge_write
from services.gateway.service import Gateway
from services.gateway.web import render
from services.gateway.web.session import (
    CSRF_FIELD,
    CsrfRefused,
    Sessions,
    SignInRequired,
    WebSession,
    caller_of,
    check_csrf,
    guard_of,
    sign_in,
    sign_out,
)
from shared.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_URL = "/web/static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(when=render.when, iso=render.iso, number=render.number)
templates.env.globals.update(labels=render.LABELS, csrf_field=CSRF_FIELD, static=STATIC_URL)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages hold what a signed-in key may read: never kept by a shared cache.
    "Cache-Control": "no-store",
}
FINAL = frozenset({"stored", "failed"})
LABEL_CHOICES = ("PER", "ORG", "LOC", "MISC")
STATUS_CHOICES = ("stored", "failed")
PAGE_SIZE = 20
MAX_FOLLOWED = 50
MAX_FILES = 20
UPLOAD_SUFFIXES = (".txt", ".text", ".html", ".htm")


@dataclass
class Visit:
    """One request to the web page: its session and, when signed in, its caller."""

    request: Request
    session: WebSession
    caller: Caller | None

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.request.app.state.gateway
        return gateway

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.web_sessions
    return sessions


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def visit(request: Request) -> Visit:
    session = _sessions(request).load(request)
    caller = caller_of(request, session)
    if session.key is not None and caller is None:
        session.key = None  # the key was removed from API_KEYS: signed out
        session.dirty = True
    return Visit(request, session, caller)


def reading(request: Request, current: Annotated[Visit, Depends(visit)]) -> Visit:
    """A visit that may read: signed in, or PUBLIC_READ=true."""
    if current.caller is None and not guard_of(request).public_read:
        raise SignInRequired(_here(request))
    return current


def writing(request: Request, current: Annotated[Visit, Depends(visit)]) -> Visit:
    """A visit that may write: signed in (the GET of a form; POSTs check CSRF first)."""
    if current.caller is None:
        raise SignInRequired(_here(request))
    return current


VisitDep = Annotated[Visit, Depends(visit)]
ReadDep = Annotated[Visit, Depends(reading)]
WriteDep = Annotated[Visit, Depends(writing)]


def page(
    current: Visit, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """A page rendered with what every template uses, the session written back if changed."""
    session = current.session
    full = {
        "signed_in": current.caller is not None,
        "public_read": guard_of(current.request).public_read,
        "csrf_token": session.csrf,
        "flash": session.pop_flash(),
        **(context or {}),
    }
    response = templates.TemplateResponse(
        current.request, name, full, status_code=status_code, headers=SECURITY_HEADERS
    )
    _sessions(current.request).save(current.request, response, session)
    return response


def redirect(current: Visit, url: str, flash: str | None = None) -> Response:
    if flash:
        current.session.flash = flash
        current.session.dirty = True
    response = RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
    _sessions(current.request).save(current.request, response, current.session)
    return response


def _safe_next(value: str | None) -> str:
    """Only a path of this web page: never another host (open redirect)."""
    if value and value.startswith("/web/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/web/articles"


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


async def _checked_form(current: Visit, max_part_size: int = 1024 * 1024) -> FormData:
    """The POSTed form, refused (403) without this session's CSRF token."""
    form = await current.request.form(
        max_files=MAX_FILES, max_fields=20, max_part_size=max_part_size
    )
    token = form.get(CSRF_FIELD)
    check_csrf(current.session, token if isinstance(token, str) else None)
    return form


def _require_caller(current: Visit, form: FormData) -> Caller:
    """The signed-in caller; else to sign-in, and back to the form's `next` page."""
    if current.caller is None:
        raise SignInRequired(_safe_next(_field(form, "next")))
    return current.caller


def _clean_params(current: Visit) -> Response | None:
    """The API's rule on query parameters (no control characters): an error page."""
    try:
        check_params(current.request)
    except ApiError as exc:
        return error_page(current, exc.status_code, str(exc))
    return None


def error_page(current: Visit, status_code: int, message: str) -> Response:
    return page(current, "error.html", {"status": status_code, "message": message}, status_code)


def web_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def home() -> Response:
        return RedirectResponse("/web/articles", status_code=303, headers=SECURITY_HEADERS)

    @router.get("/web")
    @router.get("/web/")
    def web_home() -> Response:
        return RedirectResponse("/web/articles", status_code=303, headers=SECURITY_HEADERS)

    # --- sign-in -----------------------------------------------------------------

    @router.get("/web/sign-in")
    def sign_in_form(current: VisitDep, next: str | None = None) -> Response:
        return page(current, "sign_in.html", {"next": _safe_next(next)})

    @router.post("/web/sign-in")
    async def sign_in_post(current: VisitDep) -> Response:
        form = await _checked_form(current)
        target = _safe_next(_field(form, "next"))
        key = form.get("api_key")
        try:
            sign_in(guard_of(current.request).authenticator, current.session, str(key or ""))
        except ApiError as exc:
            # Never the key back: the form comes back empty, with the reason.
            reason = "Enter an API key." if exc.status_code == 401 else "That API key is not valid."
            return page(current, "sign_in.html", {"next": target, "error": reason}, 403)
        return redirect(current, target, "Signed in.")

    @router.post("/web/sign-out")
    async def sign_out_post(current: VisitDep) -> Response:
        await _checked_form(current)
        sign_out(current.session)
        return redirect(current, "/web/sign-in", "Signed out.")

    # --- articles ----------------------------------------------------------------

    @router.get("/web/articles")
    def articles(
        current: ReadDep,
        language: str | None = None,
        status: str | None = None,
        entity: str | None = None,
        label: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
    ) -> Response:
        refused = _clean_params(current)
        if refused:
            return refused
        filters = {
            "language": (language or "").strip() or None,
            "status": status if status in STATUS_CHOICES else None,
            "entity": (entity or "").strip() or None,
            "label": label if label in LABEL_CHOICES else None,
            "q": (q or "").strip() or None,
        }
        try:
            items, next_cursor = current.gateway.list_articles(
                **filters, limit=PAGE_SIZE, cursor=cursor or None
            )
        except ValueError:
            return error_page(current, 422, "This page link is not valid any more (cursor).")
        given = {k: v for k, v in filters.items() if v}
        next_url = (
            "/web/articles?" + urlencode({**given, "cursor": next_cursor}) if next_cursor else None
        )
        return page(
            current,
            "articles.html",
            {
                "items": items,
                "filters": filters,
                "filtered": bool(given),
                "paged": cursor is not None,
                "first_url": "/web/articles?" + urlencode(given),
                "next_url": next_url,
                "label_choices": LABEL_CHOICES,
                "status_choices": STATUS_CHOICES,
            },
        )

    @router.get("/web/articles/{article_id}")
    def article(current: ReadDep, article_id: str) -> Response:
        refused = _clean_params(current)
        if refused:
            return refused
        found = current.gateway.article(article_id)
        if found is None:
            return error_page(current, 404, "There is no article with this id.")
        context: dict[str, Any] = {"article": found, "final": found.status in FINAL}
        if isinstance(found, Article):
            context.update(blocks=render.blocks(found), groups=render.groups(found))
        return page(current, "article.html", context)

    @router.get("/web/articles/{article_id}/status")
    def article_status(current: ReadDep, article_id: str) -> Response:
        """What the page's poll reads (JSON): the article's status now."""
        found = current.gateway.article(article_id)
        if found is None:
            return JSONResponse({"id": article_id, "status": None}, 404, SECURITY_HEADERS)
        body = {
            "id": found.id,
            "status": found.status,
            "final": found.status in FINAL,
            "title": found.title,
        }
        return JSONResponse(body, headers=SECURITY_HEADERS)

    @router.post("/web/articles/{article_id}/retry")
    async def retry(current: VisitDep, article_id: str) -> Response:
        form = await _checked_form(current)
        caller = _require_caller(current, form)
        back = _safe_next(_field(form, "next") or f"/web/articles/{article_id}")
        await charge_write(current.request, caller)
        try:
            done = await run_in_threadpool(current.gateway.redrive, article_id)
        except ApiError as exc:
            return redirect(current, back, f"Not re-driven: {exc}.")
        message = (
            f"Re-driven from the {done.stage} stage."
            if done.redriven
            else f"Already in flight again ({done.status})."
        )
        return redirect(current, back, message)

    # --- submit ------------------------------------------------------------------

    @router.get("/web/submit")
    def submit_form(current: WriteDep) -> Response:
        return page(current, "submit.html", {"values": {}})

    @router.post("/web/submit")
    async def submit(current: VisitDep) -> Response:
        settings = current.settings
        form = await _checked_form(current, max_part_size=settings.max_body_bytes)
        caller = _require_caller(current, form)
        values = {name: _field(form, name) for name in ("title", "url", "source")}
        text = form.get("text")
        try:
            submissions = await _submissions(form, text, values, settings)
        except ApiError as exc:
            context = {
                "values": {**values, "text": text if isinstance(text, str) else ""},
                "error": _explain(exc),
            }
            return page(current, "submit.html", context, exc.status_code)
        await charge_write(current.request, caller)
        accepted = await run_in_threadpool(current.gateway.accept, submissions)
        ids = ",".join(dict.fromkeys(a.id for a in accepted))
        count = len(accepted)
        return redirect(
            current,
            "/web/submitted?" + urlencode({"ids": ids}),
            f"{count} article{'s' if count != 1 else ''} accepted.",
        )

    @router.get("/web/submitted")
    def submitted(current: ReadDep, ids: str = "") -> Response:
        refused = _clean_params(current)
        if refused:
            return refused
        wanted = [aid for aid in dict.fromkeys(ids.split(",")) if aid][:MAX_FOLLOWED]
        found = {aid: current.gateway.article(aid) for aid in wanted}
        rows = [{"id": aid, "article": article} for aid, article in found.items()]
        final = all(a is not None and a.status in FINAL for a in found.values())
        return page(current, "submitted.html", {"rows": rows, "final": final})

    # --- entities and failures ---------------------------------------------------

    @router.get("/web/entities")
    def entities(current: ReadDep, q: str | None = None, label: str | None = None) -> Response:
        refused = _clean_params(current)
        if refused:
            return refused
        chosen = label if label in LABEL_CHOICES else None
        text = (q or "").strip() or None
        items = current.gateway.list_entities(label=chosen, q=text, limit=200)
        return page(
            current,
            "entities.html",
            {"items": items, "q": text, "label": chosen, "label_choices": LABEL_CHOICES},
        )

    @router.get("/web/failed")
    def failed(current: ReadDep, cursor: str | None = None) -> Response:
        refused = _clean_params(current)
        if refused:
            return refused
        try:
            items, next_cursor = current.gateway.list_articles(
                status="failed", limit=PAGE_SIZE, cursor=cursor or None
            )
        except ValueError:
            return error_page(current, 422, "This page link is not valid any more (cursor).")
        next_url = "/web/failed?" + urlencode({"cursor": next_cursor}) if next_cursor else None
        return page(current, "failed.html", {"items": items, "next_url": next_url})

    @router.post("/web/failed/retry")
    async def retry_all(current: VisitDep) -> Response:
        form = await _checked_form(current)
        caller = _require_caller(current, form)
        await charge_write(current.request, caller)
        done = await run_in_threadpool(current.gateway.redrive_all, 1000)
        return redirect(
            current,
            "/web/failed",
            f"{done.redriven} re-driven, {done.skipped} already in flight again.",
        )

    return router


async def _submissions(
    form: FormData, text: Any, values: dict[str, str | None], settings: Settings
) -> list[ArticleSubmission]:
    """The pasted article and the uploaded files, each checked as the API checks a body."""
    limits = Limits.from_settings(settings)
    given = {k: v for k, v in values.items() if v is not None}
    found: list[ArticleSubmission] = []
    if isinstance(text, str) and text.strip():
        # A browser sends a textarea's line breaks as CRLF, which the user never typed.
        text = text.replace("\r\n", "\n")
        found.append(validate_article({"text": text, **given}, ["body"], limits))
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    for upload in uploads:
        name = upload.filename or "file"
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            raise ApiError(422, [name], "only .txt and .html files are accepted", "file_type")
        body = await upload.read(settings.max_body_bytes + 1)
        if len(body) > settings.max_body_bytes:
            raise ApiError(413, [name], f"larger than {settings.max_body_bytes} bytes", "too_large")
        try:
            reject_binary(body)
            content = decode_utf8(body)
            html = name.lower().endswith((".html", ".htm"))
            # A file is its own article: the pasted title and URL are not its own.
            source = {"source": given["source"]} if "source" in given else {}
            found.append(validate_article({"text": content, **source}, ["body"], limits, html=html))
        except ApiError as exc:
            # Named by the file: "report.txt text: ..." rather than "body".
            loc = exc.detail[0]["loc"]
            where = [p for p in loc if p != "body"] if isinstance(loc, list) else []
            raise ApiError(exc.status_code, [name, *where], str(exc), "invalid_file") from exc
    if not found:
        raise ApiError(422, [], "paste a text or choose a file", "missing")
    return found


def _explain(exc: ApiError) -> str:
    """An API refusal in words: where (the field, or the file's name) and why."""
    loc = exc.detail[0]["loc"]
    where = [str(part) for part in loc if part != "body"] if isinstance(loc, list) else []
    return f"{' '.join(where)}: {exc}" if where else str(exc)


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = "/web/sign-in?" + urlencode({"next": _safe_next(exc.next_path)})
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    current = visit(request)
    return error_page(
        current,
        403,
        "This form was refused: it did not carry this session's security token (CSRF). "
        "Reload the page and send it again.",
    )


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the web page on the gateway: its routes, static files and session keeper."""
    app.state.web_sessions = Sessions(settings)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.include_router(web_router())
    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="web-static")
