from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/revoke/", views.revoke_token, name="revoke_token"),
    path("password-reset/", views.PasswordReset.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDone.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path("reset/done/", views.PasswordResetComplete.as_view(), name="password_reset_complete"),
]
