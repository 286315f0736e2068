"""The console's pages: login, search, the agency page.  Each declares its permission like an
API route (so the route-walk test covers it) and reads through the same directory calls."""

from __future__ import annotations

import ipaddress
import urllib.parse
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from directory import identity, store
from directory import models as m
from directory.errors import DirectoryError
from directory.whois import whois
from gin.commands.directory import agency_row

from ..permissions import Principal, public
from ..routes.system import Login
from ..routes.system import login as api_login
from . import preference
from . import session as web
from .i18n import LANGUAGES, words
from .live import CSP as LIVE_CSP
from .live import agency_state
from .menu import menu
from .posture_view import agency_posture

HERE = Path(__file__).parent
TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                               autoescape=True, undefined=jinja2.StrictUndefined)
#: Every file the pages use, by the name they use it under: nothing else is served.  The Thai
#: font is vendored (static/FONTS.md: its source and licence), so no server needs it installed.
ASSETS = {"console.css": (HERE / "static" / "console.css", "text/css"),
          "favicon.svg": (HERE / "static" / "favicon.svg", "image/svg+xml"),
          "live.js": (HERE / "static" / "live.js", "text/javascript"),
          "garuda.woff2": (HERE / "static" / "garuda.woff2", "font/woff2"),
          "garuda-bold.woff2": (HERE / "static" / "garuda-bold.woff2", "font/woff2")}
CSP = ("default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
LIST_LIMIT = 50
#: Open findings listed on the agency page (the auditor's page lists them all).
POSTURE_FINDINGS = 10
#: Thai SARA AM typed as its two parts (NIKHAHIT + SARA AA): NFC leaves them apart because
#: U+0E33 decomposes only by compatibility, so the query is put back together here.
SARA_AM_PARTS = "\u0e4d\u0e32"


def thai_query(text: str) -> str:
    """The query as the directory stores Thai (decomposed SARA AM written as one letter)."""
    return text.strip().replace(SARA_AM_PARTS, "\u0e33")

router = APIRouter(tags=["console"], include_in_schema=False)


def language(request: Request) -> str:
    lang = request.cookies.get(web.LANG_COOKIE, "en")
    return lang if lang in LANGUAGES else "en"


def render(request: Request, template: str, status: int = 200,
           who: Principal | None = None, **context: Any) -> HTMLResponse:
    lang = language(request)
    session = web.session_of(request)
    said = words(lang)
    html = TEMPLATES.get_template(template).render(
        t=said, lang=lang, user=who.identity.user if who else None,
        csrf=web.csrf_token(session) if session else "", here=request.url.path,
        nav=menu(who, said), **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    return response


async def form_of(request: Request) -> dict[str, str]:
    """The urlencoded form body (first value of each field)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}


@router.get("/static/{name}")
def asset(name: str = PathParam(max_length=64), _: None = public()) -> FileResponse:
    """The stylesheet and the Thai font (TLWG's Garuda, vendored): no outside fetch."""
    if name not in ASSETS:
        raise HTTPException(404, f"no asset {name!r}")
    path, media = ASSETS[name]
    return FileResponse(path, media_type=media, headers={"Cache-Control": "max-age=3600"})


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: str = PathParam(max_length=2),
                    back: str = Query("/ui/", max_length=300),
                    _: None = public()) -> Response:
    """Switch the console's language: this browser's cookie, and the account's choice when
    someone is logged in (so their next login anywhere opens in it)."""
    if lang not in LANGUAGES:
        raise HTTPException(404, f"no language {lang!r} (en, th)")
    preference.remember(request, lang)
    target = back if back.startswith("/ui/") and "//" not in back else "/ui/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(web.LANG_COOKIE, lang, max_age=365 * 86400,
                        **web.cookie_options(request))
    return response


@router.get("/login")
def login_page(request: Request, _: None = public()) -> HTMLResponse:
    value = web.new_login_value()
    response = render(request, "login.html", login_csrf=value, message=None)
    response.set_cookie(web.LOGIN_COOKIE, value, max_age=3600, **web.cookie_options(request))
    return response


@router.post("/login")
async def login_submit(request: Request, _: None = public()) -> Response:
    """The API's own login (same password check and throttling), the token in a cookie."""
    form = await form_of(request)
    web.check_login_csrf(request, form)
    try:
        body = Login(user=form.get("user", "")[:64],
                     password=form.get("password", "")[:identity.MAX_PASSWORD],
                     totp=form.get("totp", "").strip()[:16] or None)
        answer = await run_in_threadpool(api_login, body, request)
    except HTTPException as exc:
        said = words(language(request))
        if exc.status_code == 429:
            wait = (exc.headers or {}).get("Retry-After", "?")
            message = said["throttled"].format(seconds=wait)
        else:
            message = said["wrong_login"] if exc.status_code == 401 else str(exc.detail)
        response = render(request, "login.html", status=200,
                          login_csrf=request.cookies.get(web.LOGIN_COOKIE, ""),
                          message=message)
        return response
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(web.COOKIE, answer["token"], max_age=86400 * 1,
                        **web.cookie_options(request))
    chosen = preference.stored(request.app.state.directory, body.user)
    if chosen in LANGUAGES:
        response.set_cookie(web.LANG_COOKIE, chosen, max_age=365 * 86400,
                            **web.cookie_options(request))
    response.delete_cookie(web.LOGIN_COOKIE, path=web.PATH)
    return response


@router.post("/logout")
async def logout(request: Request, who: Principal = web.page_authenticated()) -> Response:
    """End the browser session: its token is revoked, the cookie cleared."""
    form = await form_of(request)
    web.check_csrf(request, form)
    if web.session_of(request) and who.identity.token:
        with who.directory.transaction(who.actor) as s:
            identity.revoke_token(s, who.identity.user, who.identity.token)
    response = done(request, "/ui/login")
    response.delete_cookie(web.COOKIE, path=web.PATH)
    return response


def done(request: Request, target: str) -> Response:
    """After a POST: a browser is sent on to ``target``; a bearer caller (a script) gets 204."""
    if web.session_of(request) is None:
        return Response(status_code=204)
    return RedirectResponse(target, status_code=303)


def _address(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


@router.get("/")
def search(request: Request, q: str = Query("", max_length=255),
           who: Principal = web.page_requires("directory.read")) -> HTMLResponse:
    """One box: agencies by code or Thai/English name, or the owner of an address."""
    q = thai_query(q)
    agencies: list[dict[str, Any]] = []
    devices: list[dict[str, str]] = []
    found: dict[str, Any] | None = None
    more = False
    problem = None
    with who.directory.transaction(who.actor) as s:
        if q and _address(q):
            try:
                result = whois(s, q)
                owner = result["agency"]["code"] if result["agency"] else None
                allowed = (who.allows(s, "directory.read", owner) if owner is not None
                           else who.holds("directory.read", gin_wide=True))
                found = result if allowed else None
            except DirectoryError as exc:
                problem = str(exc)
        elif q:
            page, cursor = store.agency_page(s, q, limit=LIST_LIMIT,
                                             within=who.visible(s, "directory.read"))
            agencies, more = [agency_row(a) for a in page], cursor is not None
            devices = _devices(s, q, who.visible(s, "directory.read"))
    return render(request, "search.html", who=who, q=q, agencies=agencies, more=more,
                  found=found, problem=problem, devices=devices)


def _devices(s: Any, q: str, visible: set[int] | None) -> list[dict[str, str]]:
    """Devices whose host name holds the query, within the agencies the caller may see."""
    stmt = (select(m.Device.hostname, m.Device.role, m.Agency.code)
            .join(m.Site, m.Device.site_id == m.Site.id)
            .join(m.Agency, m.Site.agency_id == m.Agency.id)
            .where(m.Device.hostname.contains(q.lower(), autoescape=True))
            .order_by(m.Device.hostname).limit(LIST_LIMIT))
    if visible is not None:
        stmt = stmt.where(m.Agency.id.in_(visible) if visible else m.Agency.id.is_(None))
    return [{"hostname": h, "role": r, "agency": c} for h, r, c in s.execute(stmt)]


@router.get("/agency/{code}")
def agency_page(request: Request, code: str = PathParam(max_length=32),
                who: Principal = web.page_requires("directory.read", agency="code")
                ) -> HTMLResponse:
    """Everything the directory knows about one agency, and its recent changes."""
    with who.directory.transaction(who.actor) as s:
        a = store.get_agency(s, code)
        view = _agency_view(s, a)
        writable = who.allows(s, "directory.write", a.code)
        # its posture, for those who may read its audit results (top open findings only)
        view["posture"] = (agency_posture(s, who, a, limit=POSTURE_FINDINGS)
                           if who.allows(s, "audit.read", a.code) else None)
        live = agency_state(request, view["links"], view["tunnels"])
    response = render(request, "agency.html", who=who, writable=writable, live=live, **view)
    response.headers["Content-Security-Policy"] = LIVE_CSP  # live.js refreshes the state
    return response


def _agency_view(s: Any, a: m.Agency) -> dict[str, Any]:
    lineage, parent = [], a.parent
    while parent is not None and len(lineage) < 16:
        lineage.insert(0, agency_row(parent))
        parent = parent.parent
    children = s.scalars(select(m.Agency).where(m.Agency.parent_id == a.id)
                         .order_by(m.Agency.code)).all()
    site_ids = [site.id for site in a.sites]
    devices = s.scalars(select(m.Device).where(m.Device.site_id.in_(site_ids))
                        .order_by(m.Device.hostname)).unique().all() if site_ids else []
    device_ids = [d.id for d in devices]
    tunnels = s.scalars(select(m.Tunnel).where(or_(m.Tunnel.a_device_id.in_(device_ids),
                                                   m.Tunnel.b_device_id.in_(device_ids)))
                        .order_by(m.Tunnel.name)).unique().all() if device_ids else []
    changes = s.scalars(select(m.Change).where(or_(m.Change.object_key == a.code,
                                                   m.Change.object_key.like(f"{a.code}/%")))
                        .order_by(m.Change.id.desc()).limit(20)).all()
    return {
        "agency": agency_row(a), "lineage": lineage,
        "children": [agency_row(c) for c in children],
        "contacts": s.scalars(select(m.Contact).where(m.Contact.agency_id == a.id)
                              .order_by(m.Contact.name)).unique().all(),
        "sites": sorted(a.sites, key=lambda site: site.code),
        "devices": devices,
        "prefixes": s.scalars(select(m.Prefix).where(m.Prefix.agency_id == a.id)
                              .order_by(m.Prefix.family, m.Prefix.network)
                              .limit(200)).unique().all(),
        "links": s.scalars(select(m.Link).where(m.Link.agency_id == a.id)
                           .order_by(m.Link.name)).unique().all(),
        "tunnels": tunnels, "changes": changes,
    }


@router.post("/agency/{code}/description")
async def change_description(request: Request, code: str = PathParam(max_length=32),
                             who: Principal = web.page_requires("directory.write",
                                                                agency="code")) -> Response:
    """The one write on these pages: an agency's description (logged as the user)."""
    form = await form_of(request)
    web.check_csrf(request, form)
    text = form.get("description", "")[:1000]
    with who.directory.transaction(who.actor) as s:
        agency = store.get_agency(s, code)
        store.update(s, agency, description=text or None)
        where = agency.code
    return done(request, f"/ui/agency/{urllib.parse.quote(where)}")


def _wants_html(request: Request) -> bool:
    return request.url.path.startswith("/ui/") and "text/html" in request.headers.get(
        "accept", "")


async def page_errors(request: Request, exc: StarletteHTTPException) -> Response:
    """In a browser: a 401 goes to the login form, other refusals get a page; elsewhere (the
    API, scripts) FastAPI's JSON answer as before."""
    if not _wants_html(request):
        return await http_exception_handler(request, exc)
    if exc.status_code == 401:
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(web.COOKIE, path=web.PATH)
        return response
    return render(request, "error.html", status=exc.status_code, code=exc.status_code,
                  detail=str(exc.detail))


def install(app: FastAPI) -> None:
    app.include_router(router, prefix=web.PATH)
    app.add_exception_handler(StarletteHTTPException, page_errors)  # type: ignore[arg-type]
    directory_errors = app.exception_handlers[DirectoryError]

    async def directory_error_page(request: Request, exc: Exception) -> Response:
        """The app's own answer to a directory error (its status and line), as a page."""
        answer = directory_errors(request, exc)
        if not _wants_html(request):
            return answer
        return render(request, "error.html", status=answer.status_code,
                      code=answer.status_code, detail=str(exc))

    app.add_exception_handler(DirectoryError, directory_error_page)
