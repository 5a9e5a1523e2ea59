"""A Streamlit session without a browser: a websocket client speaking Streamlit's own protocol.

It sends the protobufs a browser sends (BackMsg: rerun the page or one fragment, with widget
values) and reads what the server sends back (ForwardMsg: elements, script_finished, auto-rerun
timers), fetching every image URL once as a browser does. It costs the server what a tab
costs it, and no browser CPU on the measuring machine.

Used by loadtest.streamlit_sessions (a class watching the Train page) and loadtest.explorers
(a class moving sliders on the latent pages). Subclasses add what their page shows by
overriding `element`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

# element kinds whose proto carries a `label` and an `id`: the widgets a session can drive
WIDGET_KINDS = (
    "button",
    "radio",
    "number_input",
    "slider",
    "selectbox",
    "multiselect",
    "text_input",
    "checkbox",
)


def widget_state(wid: str, **value) -> WidgetState:
    """A WidgetState for widget `wid`, e.g. double_value=3.0 or trigger_value=True."""
    w = WidgetState(id=wid)
    for k, v in value.items():
        if isinstance(v, list | tuple):
            getattr(w, k).data.extend(v)  # the *_array_value kinds
        else:
            setattr(w, k, v)
    return w


@dataclass
class Session:
    """One browser-like session on one page: runs it, reruns it with widget values, follows
    its auto-rerun fragments and fetches the images it is sent."""

    base: str  # http://127.0.0.1:PORT
    page: str  # the page's url path, e.g. "train" or "latent"
    name: str = "session"
    fetch_images: bool = True
    widgets: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (kind, id)
    fragments: dict[str, str] = field(default_factory=dict)  # widget label -> its fragment
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    errors: list[str] = field(default_factory=list)
    run_latency: list[tuple[float, str]] = field(default_factory=list)  # (seconds, fragment)
    fragment_runs: int = 0
    images: int = 0
    image_urls: set[str] = field(default_factory=set)
    image_bytes: int = 0
    retries: int = 0
    autos: dict[str, float] = field(default_factory=dict)  # fragment_id -> run_every seconds
    page_hash: str = ""

    def __post_init__(self):
        self._finished = asyncio.Event()
        self._sent_at = 0.0
        self._fragment = ""
        self._ws = None
        self._reader = None
        self._http: httpx.AsyncClient | None = None
        self._fetches: set[asyncio.Task] = set()
        self._cache: dict[str, ForwardMsg] = {}  # messages by hash, for ref_hash replies
        self.run_fetches: list[asyncio.Task] = []  # image fetches the current run started
        self._delta_fragment = ""  # the fragment of the element being read

    # -------------------------------------------------------------- protocol

    async def open(self, timeout: float = 120) -> None:
        """Connect and run the page once, as a browser opening the URL does."""
        ws_url = self.base.replace("http://", "ws://") + "/_stcore/stream"
        self._ws = await asyncio.wait_for(
            connect(
                ws_url,
                subprotocols=["streamlit"],
                origin=self.base,
                max_size=None,
                ping_interval=None,
                open_timeout=timeout,
            ),
            timeout,
        )
        self._http = httpx.AsyncClient(base_url=self.base, timeout=30)
        self._reader = asyncio.create_task(self._read())
        await self.rerun()
        await self.wait_finished(timeout)

    async def close(self) -> None:
        """Disconnect (a closed tab)."""
        for t in list(self._fetches):
            t.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._http is not None:
            await self._http.aclose()

    async def rerun(
        self, widgets: list[WidgetState] = (), fragment: str = "", auto: bool = True
    ) -> None:
        """Ask for a script run (the whole page, or one fragment), with these widget values.

        A fragment rerun is an auto-rerun (a run_every timer) unless `auto` is False: a widget
        inside a fragment reruns that fragment alone, as a user's move."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.page_name = self.page
        cs.page_script_hash = self.page_hash
        cs.widget_states.widgets.extend(widgets)
        if fragment:
            cs.fragment_id = fragment
            cs.is_auto_rerun = auto
        self._finished.clear()
        self._fragment = fragment
        self.run_fetches = []
        self._sent_at = time.perf_counter()
        await self._ws.send(msg.SerializeToString())

    async def wait_finished(self, timeout: float) -> None:
        """Wait for the run in flight to finish; a stall counts as an error."""
        try:
            await asyncio.wait_for(self._finished.wait(), timeout)
        except TimeoutError:
            self.errors.append(f"no script_finished within {timeout:.0f} s")

    async def wait_images(self, timeout: float) -> None:
        """Wait for the image fetches the current run started (a browser drawing them)."""
        if self.run_fetches:
            done, pending = await asyncio.wait(self.run_fetches, timeout=timeout)
            if pending:
                self.errors.append(f"{len(pending)} image(s) not fetched within {timeout:.0f} s")

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a dropped connection is a failure the report must show
            self.errors.append(f"websocket: {type(e).__name__}: {e}")
            self._finished.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":  # "you have this one already": replay it from our cache
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                self.errors.append(f"ref_hash {msg.ref_hash} for a message never received")
                return
            msg, kind = cached, cached.WhichOneof("type")
        elif msg.hash and len(self._cache) < 2000:
            self._cache[msg.hash] = msg
        if kind == "navigation":
            self.page_hash = msg.navigation.page_script_hash  # the page itself, not app.py
        elif kind == "auto_rerun":
            self.autos[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            self.autos.clear()
        elif kind == "script_finished":
            self.run_latency.append((time.perf_counter() - self._sent_at, self._fragment))
            self._finished.set()
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            self.errors.append("script compilation exception")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._delta_fragment = msg.delta.fragment_id
            self.element(msg.delta.new_element)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "add_block":
            block = msg.delta.add_block
            if block.WhichOneof("type") == "tab_container" and block.id:
                self.widgets["(tabs)"] = ("tabs", block.id)  # a stateful st.tabs
                self.fragments["(tabs)"] = msg.delta.fragment_id

    def element(self, el) -> None:
        """Note what an element says; subclasses add their page's own readings."""
        kind = el.WhichOneof("type")
        if kind == "exception":
            self.errors.append(
                f"exception on the page: {el.exception.type}: {el.exception.message}"
            )
        elif kind == "alert":
            self.alerts.append((Alert.Format.Name(el.alert.format), el.alert.body))
        elif kind in WIDGET_KINDS:
            w = getattr(el, kind)
            self.widgets[w.label] = (kind, w.id)
            self.fragments[w.label] = self._delta_fragment  # "" outside any fragment
        elif kind == "imgs":
            for img in el.imgs.imgs:
                self.image(img.url, img.caption)

    def image(self, url: str, caption: str) -> None:
        """Fetch an image once per URL, as a browser does (Streamlit's are content hashes)."""
        if self.fetch_images and url.startswith("/") and url not in self.image_urls:
            self.image_urls.add(url)
            t = asyncio.create_task(self._fetch(url))
            self._fetches.add(t)
            self.run_fetches.append(t)
            t.add_done_callback(self._fetches.discard)

    async def _fetch(self, url: str) -> None:
        try:
            try:
                r = await self._http.get(url)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # the server closed an idle keep-alive connection as we reused it: a browser
                # silently retries such a GET on a fresh connection, and so do we (once)
                self.retries += 1
                r = await self._http.get(url)
            if r.status_code == 200:
                self.images += 1
                self.image_bytes += len(r.content)
            else:
                self.errors.append(f"image {url}: HTTP {r.status_code}")
        except httpx.HTTPError as e:
            self.errors.append(f"image {url}: {type(e).__name__}")

    # -------------------------------------------------------------- behaviour

    async def watch(self, until: float) -> None:
        """Follow the page's run_every fragments until `until`, as the browser's timers do.

        Like the browser, a session sends a fragment's next rerun `interval` seconds after
        the previous one finished, so a slow server slows its own polling down.
        """
        due: dict[str, float] = {}
        while time.time() < until and not any(e.startswith("websocket") for e in self.errors):
            if not self.autos:
                await asyncio.sleep(0.2)
                continue
            now = time.time()
            for fid, interval in self.autos.items():
                due.setdefault(fid, now + interval)
            fid = min(due, key=due.get)
            await asyncio.sleep(max(0.0, min(due[fid], until) - time.time()))
            if time.time() >= until:
                break
            await self.rerun(fragment=fid)
            await self.wait_finished(timeout=60)
            self.fragment_runs += 1
            due[fid] = time.time() + self.autos.get(fid, 1.0)

    def widget(self, label: str) -> str:
        """The id of the widget with this label (KeyError names what was found)."""
        for lab, (_, wid) in self.widgets.items():
            if lab == label:
                return wid
        raise KeyError(f"no widget {label!r} on the page; found {sorted(self.widgets)}")
