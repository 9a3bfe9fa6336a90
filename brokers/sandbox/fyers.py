"""Simulated fyers (placeholder until its simulator lands)."""

urlpatterns = []
