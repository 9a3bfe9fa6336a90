"""The sandbox's own pages: demo apps, and fault injection from a page or a JSON API."""

from dataclasses import asdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from brokers.sandbox import demo, kit, universe
from brokers.sandbox.forms import FaultForm
from config import jsonbody


def _state():
    return [
        {
            "broker": broker,
            "app": demo.DEMO_APPS[broker],
            # What the demo authenticator app shows right now, for logins that ask a TOTP.
            "totp": kit.totp(demo.DEMO_APPS[broker]["totp_secret"])
            if "totp_secret" in demo.DEMO_APPS[broker]
            else "",
            "accounts": accounts,
            "faults": [
                (who, faults)
                for who in ["*", *(a.account_id for a in accounts)]
                if (faults := kit.get_faults(broker, who)).active
            ],
        }
        for broker, accounts in universe.ACCOUNTS.items()
    ]


def index(request):
    return render(request, "sandbox/index.html", {"brokers": _state(), "form": FaultForm()})


@login_required
@require_POST
def set_faults_page(request):
    form = FaultForm(request.POST)
    if request.POST.get("clear") and form.is_valid():
        kit.clear_faults(form.cleaned_data["broker"], form.cleaned_data["account"])
        messages.info(request, f"Faults cleared for {form.cleaned_data['broker']}.")
        return redirect("sandbox:index")
    if not form.is_valid():
        context = {"brokers": _state(), "form": form}
        return render(request, "sandbox/index.html", context, status=400)
    broker, account = form.cleaned_data["broker"], form.cleaned_data["account"]
    kit.set_faults(broker, account, **form.fault_values())
    messages.success(
        request, f"Faults set for {broker} ({'all accounts' if account == '*' else account})."
    )
    return redirect("sandbox:index")


# The sandbox_faults command reaches a running server (the embedded default keeps faults in
# its memory) with this header: the broker's name signed with SECRET_KEY, good for a minute.
OPERATOR_HEADER = "X-Sandbox-Operator"
_OPERATOR_SALT = "sandbox.faults.operator"


def operator_signature(broker: str) -> str:
    return signing.TimestampSigner(salt=_OPERATOR_SALT).sign(broker)


def _write_refused(request, broker) -> JsonResponse | None:
    """Writes come from a signed-in user with the CSRF token (a page elsewhere can make a
    developer's browser send the cookie, never the token), or from the command."""
    signed = request.headers.get(OPERATOR_HEADER)
    if signed is not None:
        try:
            if signing.TimestampSigner(salt=_OPERATOR_SALT).unsign(signed, max_age=60) == broker:
                return None
        except signing.BadSignature:
            pass
        return JsonResponse({"error": f"the {OPERATOR_HEADER} header is not valid"}, status=403)
    if not request.user.is_authenticated:
        return JsonResponse(
            {"error": "Sign in to this site first: fault changes need a signed-in user."},
            status=403,
        )
    if CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is not None:  # type: ignore[arg-type]
        return JsonResponse(
            {"error": "CSRF check failed: send the csrftoken cookie's value as X-CSRFToken."},
            status=403,
        )
    return None


@csrf_exempt  # checked in _write_refused, with the command's signature as the alternative
@require_http_methods(["GET", "PUT", "POST", "DELETE"])
def faults_api(request, broker):
    """GET the faults of a broker; PUT/POST a JSON object of faults; DELETE to clear.

    ``?account=<id>`` narrows to one demo account (default: every account). Writes need a
    signed-in user and the CSRF token, or the sandbox_faults command's signature.
    """
    if broker not in universe.ACCOUNTS:
        return JsonResponse({"error": f"unknown broker {broker!r}"}, status=404)
    if request.method != "GET" and (refused := _write_refused(request, broker)):
        return refused
    account = request.GET.get("account", "")
    if request.method in ("PUT", "POST"):
        try:
            body = jsonbody.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "the body must be a JSON object"}, status=400)
        if not isinstance(body, dict):
            return JsonResponse({"error": "the body must be a JSON object"}, status=400)
        unknown = set(body) - set(kit.Faults.names())
        if unknown:
            return JsonResponse(
                {
                    "error": f"unknown fault(s): {', '.join(sorted(unknown))}",
                    "known": kit.Faults.names(),
                },
                status=400,
            )
        form = FaultForm({"broker": broker, "account": account, **_form_values(body)})
        if not form.is_valid():
            return JsonResponse({"error": "invalid faults", "fields": form.errors}, status=400)
        values = {k: v for k, v in form.fault_values().items() if k in body}
        faults = kit.set_faults(broker, form.cleaned_data["account"], **values)
        return JsonResponse({"broker": broker, "account": account or "*", "faults": asdict(faults)})
    if request.method == "DELETE":
        kit.clear_faults(broker, account or "*")
        return HttpResponse(status=204)  # No Content: no body, not even "{}"
    faults = kit.get_faults(broker, account or "*")
    return JsonResponse({"broker": broker, "account": account or "*", "faults": asdict(faults)})


def _form_values(body: dict) -> dict:
    # Booleans travel as form checkboxes: present = on.
    return {k: v for k, v in body.items() if not (isinstance(v, bool) and not v)}
