from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from accounts.services import LIFETIMES_DAYS


class SignInForm(AuthenticationForm):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For connection alerts.")

    class Meta:
        model = get_user_model()
        fields = ("username", "email")

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken. Pick another one.")
        return username


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=60,
        help_text="What will use it, e.g. “nightly export script”.",
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
    days = forms.TypedChoiceField(coerce=int, label="Valid for")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        days = sorted({*LIFETIMES_DAYS, settings.API_TOKEN_DAYS})
        self.fields["days"].choices = [(d, f"{d} days") for d in days]
        self.fields["days"].initial = settings.API_TOKEN_DAYS
