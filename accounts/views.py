import axes.utils
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ApiTokenForm, SignInForm, SignUpForm
from accounts.services import (
    TooManyTokens,
    api_tokens,
    issue_api_token,
    register_trader,
    revoke_api_token,
)


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def sign_in(request):
    """A locked username-and-address never reaches the password check: django-axes' backend
    refuses it and its middleware answers with accounts.lockout.locked_out (429)."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignInForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect(_next_url(request))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "next": _next_url(request)}
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


# --- API tokens ---------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    """The trader's API tokens: make one (shown once, in this answer only), see and revoke."""
    form = ApiTokenForm(request.POST or None)
    made = None
    if request.method == "POST" and form.is_valid():
        try:
            record, key = issue_api_token(
                user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
            )
            made = {"record": record, "key": key}
            form = ApiTokenForm()
        except TooManyTokens as refused:
            form.add_error(None, str(refused))
    context = {
        "form": form,
        "made": made,
        "tokens": api_tokens(request.user),
        "api_base": request.build_absolute_uri("/api/v1"),
        "now": timezone.now(),
    }
    status = 400 if request.method == "POST" and made is None else 200
    response = render(request, "accounts/api_tokens.html", context, status=status)
    if made:
        response["Cache-Control"] = "no-store"  # the token is in this page: keep it off disk
    return response


@login_required
@require_POST
def revoke_token(request):
    token_key = request.POST.get("token", "")
    if not revoke_api_token(user=request.user, token_key=token_key):
        raise Http404("You have no such token.")
    messages.success(request, f"Token {token_key[:12]}… is revoked: it no longer works.")
    return redirect("accounts:tokens")


# --- Password reset: the owner's way back, also out of a sign-in lock -------------------------
class PasswordReset(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDone(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever holds the mailbox is the owner: their sign-in locks end here, everywhere.
        axes.utils.reset(username=form.user.get_username())
        return response


class PasswordResetComplete(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
