"""Pages: the dashboard, the connect wizard, the broker callback, reconnect and disconnect."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from brokers import connections, demo_apps
from brokers.adapters import registry
from brokers.connections import BROWSER_LOGINS, ConnectFailed
from brokers.forms import APP_FIELDS, BrokerAppForm, CredentialsLoginForm
from brokers.help import card as broker_card
from brokers.models import Broker, BrokerApp, BrokerConnection
from brokers.types import LoginKind

STEPS = ["Broker", "App", "Login", "Verified"]

# Every browser login's callback carries our state back (Zerodha's in redirect_params,
# docs/brokers/zerodha.md §1; Upstox's and Fyers' as OAuth2's state, upstox.md §1, fyers.md §1)
# except Dhan's consent redirect, which carries only tokenId (dhan.md §1b step 2). Only there
# does the callback take the state from the session: the login this session started at that
# broker, once. A callback without a state it can verify is refused and nothing is consumed.
SESSION_STATE_LOGINS = {LoginKind.CONSENT}


def _pending_key(broker: str) -> str:
    return f"pending-login:{broker}"


def _broker_or_404(broker: str) -> str:
    if broker not in Broker.values:
        raise Http404("No such broker.")
    return broker


def _own_connection(request, pk) -> BrokerConnection:
    return get_object_or_404(
        BrokerConnection.objects.select_related("app"), pk=pk, user=request.user
    )


def _callback_url(request, broker: str) -> str:
    return request.build_absolute_uri(reverse("brokers:callback", args=[broker]))


def _wizard(request, template, step: int, context: dict, status: int = 200):
    return render(request, template, {"steps": STEPS, "step": step, **context}, status=status)


@login_required
def dashboard(request):
    mine = BrokerConnection.objects.for_user(request.user).with_last_response()
    return render(request, "brokers/dashboard.html", {"connections": mine.order_by("broker")})


@login_required
def choose_broker(request):
    brokers = [(b, registry.capabilities(b.value), broker_card(b.value)) for b in Broker]
    return _wizard(request, "brokers/connect_choose.html", 1, {"brokers": brokers})


@login_required
@require_http_methods(["GET", "POST"])
def connect_app(request, broker):
    """Step 2: pick a registered app or register one, then go to the broker's login."""
    broker = _broker_or_404(broker)
    apps = BrokerApp.objects.filter(user=request.user, broker=broker).order_by("-created_at")
    form = BrokerAppForm(broker=broker, user=request.user)
    redirect_uri = _callback_url(request, broker)
    if request.method == "POST":
        if request.POST.get("app"):
            app = get_object_or_404(apps, pk=request.POST["app"])
        else:
            form = BrokerAppForm(request.POST, broker=broker, user=request.user)
            if not form.is_valid():
                return _app_step(request, broker, apps, form, redirect_uri, status=400)
            app = form.save(redirect_url=redirect_uri)
        return _start_login(request, app, redirect_uri)
    return _app_step(request, broker, apps, form, redirect_uri)


def _app_step(request, broker, apps, form, redirect_uri, status=200):
    demo = demo_apps.demo_app(broker)  # registered by the sandbox, when it is installed
    if demo is not None:
        demo = {k: v for k, v in demo.items() if k in APP_FIELDS[broker]}
    context = {
        "broker": Broker(broker),
        "capabilities": registry.capabilities(broker),
        "facts": broker_card(broker),
        "apps": apps,
        "form": form,
        "redirect_uri": redirect_uri,
        "demo": demo,
    }
    return _wizard(request, "brokers/connect_app.html", 2, context, status)


def _start_login(request, app: BrokerApp, redirect_uri: str, connection=None):
    try:
        started = connections.initiate_connection(
            user=request.user, app=app, redirect_uri=redirect_uri, connection=connection
        )
    except ConnectFailed as failure:
        return _failed(request, app.broker, str(failure))
    kind = registry.capabilities(app.broker).login_kind
    if kind in SESSION_STATE_LOGINS or kind not in BROWSER_LOGINS:
        # No state of ours comes back (Dhan's consent, typed credentials): the session keeps
        # this login's; a newer login at the same broker replaces it.
        request.session[_pending_key(app.broker)] = started.state
    if started.authorization_url:
        return redirect(started.authorization_url)
    return redirect("brokers:connect_login", broker=app.broker)


@login_required
@require_http_methods(["GET", "POST"])
def connect_login(request, broker):
    """Step 3 for brokers without a browser login: typed credentials (never stored)."""
    broker = _broker_or_404(broker)
    capabilities = registry.capabilities(broker)
    if capabilities.login_kind in BROWSER_LOGINS:
        raise Http404("This broker logs in on its own site.")
    form = CredentialsLoginForm(request.POST or None, fields=capabilities.login_fields)
    if request.method == "POST" and form.is_valid():
        state = request.session.pop(_pending_key(broker), "")
        return _complete(request, broker, state, dict(form.cleaned_data))
    context = {"broker": Broker(broker), "form": form}
    status = 400 if request.method == "POST" else 200
    return _wizard(request, "brokers/connect_login.html", 3, context, status)


@login_required
def callback(request, broker):
    """Where the broker sends the trader back after its login page."""
    broker = _broker_or_404(broker)
    params = request.GET.dict()
    state = params.pop("state", "")
    name = Broker(broker).label
    if not state and registry.capabilities(broker).login_kind in SESSION_STATE_LOGINS:
        state = request.session.pop(_pending_key(broker), "")  # once, whatever the outcome
        if not state:
            return _failed(
                request,
                broker,
                f"No {name} login of yours is waiting for this answer: it was already used, "
                "or it was started in another browser.",
            )
    if not state:
        return _failed(
            request,
            broker,
            f"This {name} login link carries no security state, so it cannot be tied to a "
            "login you started here.",
        )
    return _complete(request, broker, state, params)


def _complete(request, broker, state: str, params: dict):
    try:
        verified = connections.complete_connection(
            user=request.user, broker=broker, state=state, params=params
        )
    except ConnectFailed as failure:
        return _failed(request, broker, str(failure))
    request.session[f"verified:{verified.connection.pk}"] = {
        "holdings": verified.holdings,
        "positions": verified.positions,
        "name": verified.account_name,
        "created": verified.created,
    }
    return redirect("brokers:connected", pk=verified.connection.pk)


def _failed(request, broker, message):
    context = {"broker": Broker(broker), "message": message}
    return _wizard(request, "brokers/connect_failed.html", 3, context, status=400)


@login_required
def connected(request, pk):
    """Step 4: the summary of a verified connection."""
    connection = _own_connection(request, pk)
    verified = request.session.get(f"verified:{connection.pk}")
    context = {"connection": connection, "verified": verified}
    return _wizard(request, "brokers/connect_done.html", 4, context)


@login_required
@require_http_methods(["GET", "POST"])
def reconnect(request, pk):
    """One click from a notice or a card: log in again to the same connection."""
    connection = _own_connection(request, pk)
    if connection.app is None:
        messages.error(request, "This connection has no API app any more; register one.")
        return redirect("brokers:connect_app", broker=connection.broker)
    return _start_login(request, connection.app, connection.app.redirect_url, connection)


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request, pk):
    connection = _own_connection(request, pk)
    if request.method == "POST":
        outcome = connections.disconnect(connection=connection)
        note = {
            "revoked": "The broker revoked the session.",
            "no logout": "The broker has no logout; its session ends at its daily expiry.",
            "unreachable": "The broker did not answer the logout; its session ends at its "
            "daily expiry.",
        }[outcome]
        messages.success(request, f"{connection} is disconnected; its tokens are wiped. {note}")
        return redirect("dashboard")
    return render(request, "brokers/disconnect_confirm.html", {"connection": connection})
