from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import throttle
from accounts.forms import SignInForm, SignUpForm
from accounts.services import register_trader


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def sign_in(request):
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignInForm(request, data=request.POST or None)
    status, locked = 200, ""
    if request.method == "POST":
        username, address = request.POST.get("username", ""), _client_address(request)
        if throttle.is_locked(username, address):
            form = SignInForm(request, initial={"username": username})
            locked = (
                "Too many failed sign-ins. Wait "
                f"{settings.SIGN_IN_LOCKOUT_MINUTES} minutes and try again."
            )
            status = 429
        elif form.is_valid():
            throttle.clear(username, address)
            login(request, form.get_user())
            return redirect(_next_url(request))
        else:
            throttle.record_failure(username, address)
            status = 400
    context = {"form": form, "next": _next_url(request), "locked": locked}
    return render(request, "accounts/sign_in.html", context, status=status)


def sign_up(request):
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = register_trader(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome. Connect your first broker to get started.")
        return redirect(settings.LOGIN_REDIRECT_URL)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/sign_up.html", {"form": form}, status=status)


@require_POST
def sign_out(request):
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)
